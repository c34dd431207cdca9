"""Reading .xlsx member lists with no Django: the upload's streaming scan and the
full read in a child process. Pure Python with plain arguments, so the child can
import it; members/excel.py is their door from Django."""
