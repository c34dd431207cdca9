// Maps in and out of files, as pure functions (no DOM; tests/js/ runs them under Node):
// a map -> Markdown outline, OPML or SVG text; Markdown or OPML text -> trees
// ([{title, body, color, children}]) that layout.placeTrees turns into node.create ops.
//
// Imports are hostile until proven otherwise: the text is bounded before it is read, the
// reader stops at the first node past the node, depth or content budget (never building
// what it will refuse), and OPML is read by a small reader of our own that takes no
// DOCTYPE at all, so no entity can expand (billion laughs) and nothing external loads.

import { BOX, orderedChildren, estimateWidth, nodeBox, rootOf } from "./layout.js";

export const LIMITS = {
  bytes: 4 * 1024 * 1024,  // a file's size; a map's content is 4 MiB at most anyway
  nodes: 10_000,           // the server's live nodes per map
  depth: 200,
  content: 4 * 1024 * 1024,  // titles and bodies, measured as the server does (textSize)
};
const MAX_TITLE = 200;
const MAX_BODY = 10_000;

export class ImportRefused extends Error {}

// The bytes `text` takes in a frame, as the server counts it (collab/ops.py text_size):
// JSON string escapes, UTF-8, quotes left out.
export function textSize(text) {
  let size = 0;
  for (const ch of text) {
    const code = ch.codePointAt(0);
    if (ch === "\"" || ch === "\\" || "\b\f\n\r\t".includes(ch)) size += 2;
    else if (code < 0x20) size += 6;
    else size += code < 0x80 ? 1 : code < 0x800 ? 2 : code < 0x10000 ? 3 : 4;
  }
  return size;
}

// --- export -------------------------------------------------------------------------------

// The tree under the root, depth first in on-screen order: [[node, depth], ...].
function outline(nodes) {
  const root = rootOf(nodes);
  if (!root) return [];
  const index = orderedChildren(nodes);
  const rows = [];
  const seen = new Set();
  for (const stack = [[root, 0]]; stack.length;) {
    const [node, depth] = stack.pop();
    if (seen.has(node.id)) continue;
    seen.add(node.id);
    rows.push([node, depth]);
    const kids = index.get(node.id) ?? [];
    for (let i = kids.length - 1; i >= 0; i -= 1) stack.push([kids[i], depth + 1]);
  }
  return rows;
}

// The root is the heading, every other node a list item indented two spaces per level;
// a line break in a title is `<br>`, notes are quoted lines (`> `) under their item.
export function toMarkdown(nodes) {
  const lines = [];
  for (const [node, depth] of outline(nodes)) {
    const title = node.title.replace(/\r?\n/g, "<br>");
    const indent = "  ".repeat(Math.max(0, depth - 1));
    lines.push(depth === 0 ? `# ${title}` : `${indent}- ${title}`);
    if (node.body) {
      const under = depth === 0 ? "" : `${indent}  `;
      for (const line of node.body.split(/\r?\n/)) lines.push(`${under}> ${line}`.trimEnd());
    }
    if (depth === 0) lines.push("");
  }
  return `${lines.join("\n")}\n`;
}

const XML_ESCAPES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", "\"": "&quot;", "'": "&apos;", "\n": "&#10;", "\r": "&#13;", "\t": "&#9;" };
export const escapeXml = (text) => text.replace(/[&<>"'\n\r\t]/g, (ch) => XML_ESCAPES[ch]);

// OPML 2.0: `text` is the title, `_note` the notes (as OmniOutliner and Workflowy write
// them), `_color` the node's colour.
export function toOpml(nodes, title) {
  const out = ["<?xml version=\"1.0\" encoding=\"UTF-8\"?>", "<opml version=\"2.0\">",
    `  <head><title>${escapeXml(title)}</title></head>`, "  <body>"];
  const rows = outline(nodes);
  rows.forEach(([node, depth], i) => {
    const pad = "  ".repeat(depth + 2);
    const attributes = [`text="${escapeXml(node.title)}"`];
    if (node.body) attributes.push(`_note="${escapeXml(node.body)}"`);
    if (node.color && node.color !== "#ffffff") attributes.push(`_color="${escapeXml(node.color)}"`);
    const next = rows[i + 1]?.[1] ?? 0;
    out.push(`${pad}<outline ${attributes.join(" ")}${next > depth ? ">" : " />"}`);
    for (let d = depth - 1; d >= next; d -= 1) out.push(`${"  ".repeat(d + 2)}</outline>`);
  });
  out.push("  </body>", "</opml>");
  return `${out.join("\n")}\n`;
}

// The visible map as a standalone SVG picture (presentation attributes only, no CSS, so
// it looks the same in any viewer); `hidden` holds the ids folded away.
export function toSvg(nodes, { hidden = new Set(), measure = estimateWidth } = {}) {
  const shown = [...nodes.values()].filter((node) => !hidden.has(node.id));
  const boxes = new Map(shown.map((node) => [node.id, nodeBox(node.title, measure)]));
  let left = Infinity; let top = Infinity; let right = -Infinity; let bottom = -Infinity;
  for (const node of shown) {
    const { width, height } = boxes.get(node.id);
    left = Math.min(left, node.x - width / 2); right = Math.max(right, node.x + width / 2);
    top = Math.min(top, node.y - height / 2); bottom = Math.max(bottom, node.y + height / 2);
  }
  if (!shown.length) { left = 0; top = 0; right = 1; bottom = 1; }
  const margin = 20;
  const width = Math.ceil(right - left + 2 * margin);
  const height = Math.ceil(bottom - top + 2 * margin);
  const parts = [`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" ` +
    `viewBox="${Math.floor(left - margin)} ${Math.floor(top - margin)} ${width} ${height}" ` +
    "font-family=\"system-ui, sans-serif\" font-size=\"14\">",
  `<rect x="${Math.floor(left - margin)}" y="${Math.floor(top - margin)}" width="${width}" height="${height}" fill="#ffffff"/>`];
  for (const node of shown) {
    const parent = nodes.get(node.parent);
    if (parent && boxes.has(parent.id)) {
      parts.push(`<line x1="${parent.x}" y1="${parent.y}" x2="${node.x}" y2="${node.y}" stroke="#9aa3b5" stroke-width="2"/>`);
    }
  }
  for (const node of shown) {
    const { width: w, height: h, lines } = boxes.get(node.id);
    parts.push(`<rect x="${node.x - w / 2}" y="${node.y - h / 2}" width="${w}" height="${h}" rx="6" ` +
      `fill="${escapeXml(node.color || "#ffffff")}" stroke="#5b6478" stroke-width="1.5"/>`);
    const first = node.y - h / 2 + BOX.padY + BOX.lineHeight / 2;
    lines.forEach((line, i) => parts.push(`<text x="${node.x}" y="${first + i * BOX.lineHeight}" ` +
      `text-anchor="middle" dominant-baseline="central" fill="#1d2433">${escapeXml(line)}</text>`));
  }
  parts.push("</svg>");
  return `${parts.join("\n")}\n`;
}

// --- import -------------------------------------------------------------------------------

// The outline format a file's name says it holds: "markdown" (.md, .markdown, .txt),
// "opml" (.opml, .xml), or null for any other file (a picture, a spreadsheet…).
export function importFormat(name) {
  if (/\.(md|markdown|txt)$/i.test(name)) return "markdown";
  if (/\.(opml|xml)$/i.test(name)) return "opml";
  return null;
}

// Builds the trees as a reader finds items, and refuses as soon as a budget is passed.
class TreeBuilder {
  constructor(limits) {
    this.limits = { ...LIMITS, ...limits };
    this.roots = [];
    this.count = 0;
    this.content = 0;
  }

  // A new item under `parent` (null: a top-level one) at `depth` (1 for top-level).
  add(parent, depth, title, body = "", color = null, where = "") {
    const { nodes, depth: maxDepth, content } = this.limits;
    if (depth > maxDepth) throw new ImportRefused(`${where}the outline is nested deeper than ${maxDepth} levels.`);
    if (this.count >= nodes) {
      throw new ImportRefused(`The file holds more than ${nodes.toLocaleString("en")} items: this map can take ` +
        `${nodes.toLocaleString("en")} more.`);
    }
    const clean = (text) => text.replace(/\0/g, "\ufffd");
    let text = clean(title).trim();
    let notes = clean(body);
    if ([...text].length > MAX_TITLE) {  // kept whole in the notes: nothing typed is dropped
      notes = notes ? `${text}\n\n${notes}` : text;
      text = `${[...text].slice(0, MAX_TITLE - 1).join("")}…`;
    }
    if ([...notes].length > MAX_BODY) throw new ImportRefused(`${where}an item's notes are longer than ${MAX_BODY.toLocaleString("en")} characters.`);
    this.content += textSize(text) + textSize(notes);
    if (this.content > content) {
      throw new ImportRefused(`The file's text takes more than this map has room for ` +
        `(${Math.floor(content / 1024).toLocaleString("en")} KiB).`);
    }
    this.count += 1;
    const tree = { title: text, body: notes, color, children: [] };
    (parent ? parent.children : this.roots).push(tree);
    return tree;
  }

  done() {
    if (!this.count) throw new ImportRefused("The file holds no outline items.");
    return { trees: this.roots, count: this.count };
  }
}

function checkSize(text, limits) {
  const bytes = { ...LIMITS, ...limits }.bytes;
  if (text.length > bytes) {  // UTF-16 units <= UTF-8 bytes: a cheap, safe first check
    throw new ImportRefused(`The file is larger than ${Math.floor(bytes / 1024 / 1024)} MiB.`);
  }
}

const ITEM = /^(\s*)([-*+]|\d+[.)])\s+(.*)$/;
const HEADING = /^(#{1,6})[ \t]+(.*)$/;
const QUOTE = /^\s*>\s?(.*)$/;

// "Title ##" -> "Title" (a heading's optional closing hashes), without a regex that
// could backtrack over a long hostile line.
function closingHashes(text) {
  const trimmed = text.trimEnd();
  let end = trimmed.length;
  while (end > 0 && trimmed[end - 1] === "#") end -= 1;
  if (end === trimmed.length || (end > 0 && !/\s/.test(trimmed[end - 1]))) return trimmed;
  return trimmed.slice(0, end).trimEnd();
}

// A Markdown outline: headings (# to ######) and list items (-, *, +, 1.) nested by
// indentation under them; `> ` lines are the notes of the item above; other lines are
// skipped. `<br>` in a title is a line break (toMarkdown writes them).
export function parseMarkdown(text, limits = {}) {
  checkSize(text, limits);
  const builder = new TreeBuilder(limits);
  const headings = [];  // [{level, tree}] open headings, outermost first
  let items = [];       // [{indent, tree, depth}] open list items under the last heading
  let last = null;
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, number) => {
    const where = `Line ${number + 1}: `;
    const line = raw.replace(/\t/g, "    ");
    const heading = HEADING.exec(line);
    const item = heading ? null : ITEM.exec(line);
    const quote = heading || item ? null : QUOTE.exec(line);
    const title = (value) => value.replace(/<br\s*\/?>/gi, "\n");
    if (heading) {
      const level = heading[1].length;
      while (headings.length && headings.at(-1).level >= level) headings.pop();
      const parent = headings.at(-1);
      last = builder.add(parent?.tree ?? null, headings.length + 1, title(closingHashes(heading[2])), "", null, where);
      headings.push({ level, tree: last, depth: headings.length + 1 });
      items = [];
    } else if (item) {
      const indent = item[1].length;
      while (items.length && items.at(-1).indent >= indent) items.pop();
      const up = items.at(-1) ?? headings.at(-1);
      const depth = (up?.depth ?? 0) + 1;
      last = builder.add(up?.tree ?? null, depth, title(item[3]), "", null, where);
      items.push({ indent, tree: last, depth });
    } else if (quote && last) {
      last.body = last.body ? `${last.body}\n${quote[1]}` : quote[1];
      if ([...last.body].length > MAX_BODY) throw new ImportRefused(`${where}an item's notes are longer than ${MAX_BODY.toLocaleString("en")} characters.`);
      builder.content += textSize(quote[1]) + 2;
      if (builder.content > builder.limits.content) throw new ImportRefused("The file's text takes more than this map has room for.");
    }
  });
  return builder.done();
}

// --- OPML: a reader for exactly what OPML needs ------------------------------------------

const ENTITIES = { amp: "&", lt: "<", gt: ">", quot: "\"", apos: "'" };

function decodeEntities(value, where) {
  return value.replace(/&(#x[0-9a-f]+|#[0-9]+|[a-z]+);|&/gi, (match, name) => {
    if (!name) throw new ImportRefused(`${where}a bare "&" (write &amp;).`);
    if (name[0] !== "#") {
      if (!(name in ENTITIES)) throw new ImportRefused(`${where}unknown entity &${name.slice(0, 20)}; (only XML's five are read).`);
      return ENTITIES[name];
    }
    const code = name[1] === "x" || name[1] === "X" ? parseInt(name.slice(2), 16) : parseInt(name.slice(1), 10);
    const allowed = code === 9 || code === 10 || code === 13 || (code >= 0x20 && code <= 0xd7ff)
      || (code >= 0xe000 && code <= 0xfffd) || (code >= 0x10000 && code <= 0x10ffff);
    if (!allowed) throw new ImportRefused(`${where}a character reference XML does not allow (${match.slice(0, 20)}).`);
    return String.fromCodePoint(code);
  });
}

const TAG = /<(\/?)([A-Za-z_][\w.:-]*)((?:\s+[A-Za-z_][\w.:-]*\s*=\s*(?:"[^"<]*"|'[^'<]*'))*)\s*(\/?)>/y;
const ATTRIBUTE = /([A-Za-z_][\w.:-]*)\s*=\s*(?:"([^"]*)"|'([^']*)')/g;

// OPML: every <outline> is an item (`text`, or `title`, its title; `_note` its notes;
// `_color` a #rrggbb colour), nested as in the file. A DOCTYPE is refused outright.
export function parseOpml(text, limits = {}) {
  checkSize(text, limits);
  const builder = new TreeBuilder(limits);
  const open = [];  // element names, with the tree of each open outline
  let sawOpml = false;
  let at = 0;
  let counted = 0;
  let line = 1;
  const lineAt = (offset) => {  // offsets only grow: count the newlines since the last one
    for (let i = text.indexOf("\n", counted); i >= 0 && i < offset; i = text.indexOf("\n", i + 1)) line += 1;
    counted = Math.max(counted, offset);
    return `Line ${line}: `;
  };
  while (at < text.length) {
    const lt = text.indexOf("<", at);
    if (lt < 0) break;
    at = lt;
    if (text.startsWith("<!--", at)) {
      const end = text.indexOf("-->", at + 4);
      if (end < 0) throw new ImportRefused(`${lineAt(at)}a comment that never ends.`);
      at = end + 3;
    } else if (text.startsWith("<?", at)) {
      const end = text.indexOf("?>", at + 2);
      if (end < 0) throw new ImportRefused(`${lineAt(at)}a processing instruction that never ends.`);
      at = end + 2;
    } else if (text.startsWith("<![CDATA[", at)) {
      const end = text.indexOf("]]>", at + 9);
      if (end < 0) throw new ImportRefused(`${lineAt(at)}a CDATA section that never ends.`);
      at = end + 3;
    } else if (text.startsWith("<!", at)) {
      throw new ImportRefused(`${lineAt(at)}the file has a DOCTYPE or entity declarations, which OPML ` +
        "does not need; they are not read, so the file is refused.");
    } else {
      TAG.lastIndex = at;
      const tag = TAG.exec(text);
      if (!tag) throw new ImportRefused(`${lineAt(at)}this is not well-formed XML.`);
      at = TAG.lastIndex;
      const [, closing, name, rawAttributes, selfClosing] = tag;
      if (closing) {
        if (open.at(-1)?.name !== name) throw new ImportRefused(`${lineAt(tag.index)}</${name}> closes nothing open.`);
        open.pop();
        continue;
      }
      if (!open.length) {
        if (name !== "opml") throw new ImportRefused("This is not an OPML file (its outermost element is not <opml>).");
        sawOpml = true;
      }
      let tree = null;
      if (name === "outline") {
        const attributes = {};
        for (const [, key, double, single] of rawAttributes.matchAll(ATTRIBUTE)) {
          attributes[key] = decodeEntities(double ?? single, lineAt(tag.index));
        }
        const parent = open.findLast((element) => element.tree)?.tree ?? null;
        const depth = open.filter((element) => element.tree).length + 1;
        const color = /^#[0-9a-f]{6}$/i.test(attributes._color ?? "") ? attributes._color.toLowerCase() : null;
        tree = builder.add(parent, depth, attributes.text ?? attributes.title ?? "", attributes._note ?? "",
          color, lineAt(tag.index));
      }
      if (!selfClosing) open.push({ name, tree });
    }
  }
  if (!sawOpml) throw new ImportRefused("This is not an OPML file (no <opml> element).");
  if (open.length) throw new ImportRefused(`The file ends inside <${open.at(-1).name}>.`);
  return builder.done();
}
