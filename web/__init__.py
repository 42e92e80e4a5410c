"""The staff's web pages, served beside the APIs on the same port: server-rendered (Jinja2), htmx, Leaflet.

An edge like the CLI and the API: it reads through the store's queries and acts through `RectifyClient`.
`web.server.install` adds the pages, the static files and the session middleware to the API's FastAPI app.
"""
