"""Flask extensions, created without an app and bound in create_app() (flaskr style)."""
from flask_babel import Babel
from flask_login import LoginManager
from flask_wtf import CSRFProtect

login_manager = LoginManager()
babel = Babel()
csrf = CSRFProtect()
