"""Demo users for ``vaxchain init --demo``: one per role, with the passwords listed in the README."""
from core import accounts, roles

DEMO_USERS = (
    ("admin", "quantri-demo-2026", roles.ADMIN),
    ("warehouse", "kho-demo-2026", roles.WAREHOUSE_MANAGER),
    ("logistics", "dieuphoi-demo-2026", roles.LOGISTICS_OFFICER),
    ("site", "diemtiem-demo-2026", roles.SITE_STAFF),
    ("viewer", "theodoi-demo-2026", roles.VIEWER),
    ("integrator", "tichhop-demo-2026", roles.INTEGRATOR),
)
FULL_NAMES = {
    "admin": "Quản trị hệ thống",
    "warehouse": "Nguyễn Văn Kho",
    "logistics": "Trần Thị Điều Phối",
    "site": "Lê Văn Tiêm",
    "viewer": "Phạm Thị Theo Dõi",
    "integrator": "Hệ thống tích hợp",
}


def create_demo_users():
    """Create the demo users that do not exist yet; returns their usernames. The caller commits."""
    created = []
    for username, password, role in DEMO_USERS:
        if accounts.find_user(username) is None:
            accounts.create_user(username, password, role, FULL_NAMES[username])
            created.append(username)
    return created
