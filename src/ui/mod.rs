//! Three renderers of one event stream: terminal, plain, json.
