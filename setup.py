"""The build compiles the translation catalogs (.po, in the repository) into the package (.mo).

Everything else about the package is in pyproject.toml.
"""

import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent


class BuildWithCatalogs(build_py):
    def run(self) -> None:
        super().run()
        sys.path.insert(0, str(HERE))
        from catalogs import compile_all

        source = HERE / "helpdesk" / "locale"
        # An editable install runs the working tree: the catalogs are compiled in place there.
        if getattr(self, "editable_mode", False):
            compile_all(source)
        else:
            compile_all(source, Path(self.build_lib) / "helpdesk" / "locale")


setup(cmdclass={"build_py": BuildWithCatalogs})
