"""Behind gunicorn, configured as in production, a site's day of work leaves no national ID or phone number
in the access or error log (the day and the search: tests/test_personal_data_logs.py)."""
from tests.test_personal_data_logs import TRACES, a_days_work, world


def test_gunicorn_logs_no_national_id_or_phone(app, gunicorn_server):
    headers = world(app)
    server = gunicorn_server(workers=2, threads=2)
    a_days_work(server.url, headers)
    server.stop()
    logged = server.log_text()
    assert "GET /api/v1/persons HTTP/1.1" in logged
    assert [trace for trace in TRACES if trace in logged] == []
