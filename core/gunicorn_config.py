"""gunicorn settings for vaxchain: ``gunicorn -c python:core.gunicorn_config "core.app:create_app()"``.

Any setting can still be given on the command line or in ``GUNICORN_CMD_ARGS``, which win over these.
"""
# The access log names the path (%(U)s), never the query string (%(q)s / %(r)s would hold it): searches
# carry national IDs and phone numbers there (see core/serving.py).
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(L)ss'
