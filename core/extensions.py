"""Flask extensions, created without an app and bound in create_app() (flaskr style).

Flask-Babel is the exception: it keeps its catalog cache on the Babel object, so each app gets
its own (see core.app.init_i18n), or two apps with different plugins would share translations.
"""
from flask_login import LoginManager
from flask_wtf import CSRFProtect

login_manager = LoginManager()
csrf = CSRFProtect()
