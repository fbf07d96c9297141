"""Reference certificate source: a stand-in for the designated record-keeping body's API.

Run it as its own process (``genba source serve`` → :func:`tools.reference_source.cli.serve`);
build the ASGI app with :func:`tools.reference_source.app.create_source_app`. It imports
nothing from the rest of the project.
"""
