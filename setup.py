"""Compiles the Babel catalogs before packaging, so wheels and editable installs carry .mo files."""
import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent


class build_py_with_catalogs(build_py):
    def run(self):
        sys.path.insert(0, str(HERE))
        try:
            from translations import compile_catalogs
        finally:
            sys.path.pop(0)
        compile_catalogs(HERE / "translations")
        for plugin_catalogs in sorted(HERE.glob("plugins/*/translations")):
            compile_catalogs(plugin_catalogs)
        super().run()


setup(cmdclass={"build_py": build_py_with_catalogs})
