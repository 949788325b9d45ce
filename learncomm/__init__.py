"""learncomm: simulate communities of learning.

The code lives in the repository's top-level folders (sim/, agents/, roles/)
and installs under this one namespace so no generic top-level package name
(such as `agents`) lands in site-packages.
"""

__version__ = "0.1.0"
