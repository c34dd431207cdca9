"""The job engine: the Job row and its state machine (models, states, policy,
actions, statements), the worker and what a handler gets (worker, progress), the kinds
it runs (registry), and its REST and WebSocket edges. It imports no domain: videos
and members declare their kinds and the app registers them."""
