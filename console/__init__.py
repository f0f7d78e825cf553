"""The operators' console: a small web application over the journal, served by the hub.

    hub console            serve it alone (reads and acts on the journal; a running hub delivers)
    hub run                serves it too when ``[console] enabled = true``

``auth`` (users, roles, sessions, CSRF), ``data`` (the read model: every page's query over
the journal), ``server`` (HTTP, pages, JSON API, server-sent events, /metrics). Pages are
rendered on the server (Jinja2, autoescaped); ``static/console.js`` adds live figures
(EventSource) and selection; there is no JavaScript build.
"""
