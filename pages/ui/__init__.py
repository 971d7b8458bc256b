"""Widget helpers the pages share (URL state, formatting, image input, model caches). Not pages."""
