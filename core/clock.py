"""Time as the users live it: moments are stored in UTC, days are counted in Vietnam's time zone."""
from datetime import date, datetime
from zoneinfo import ZoneInfo

from core.db import utcnow

LOCAL_ZONE = ZoneInfo("Asia/Ho_Chi_Minh")


def local_today() -> date:
    """Today's date in Vietnam (a lot expiring today is still usable until midnight there)."""
    return utcnow().astimezone(LOCAL_ZONE).date()


def local_date(moment: datetime) -> date:
    return moment.astimezone(LOCAL_ZONE).date()
