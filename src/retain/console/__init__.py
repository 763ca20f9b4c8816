"""The operator's console: the frame every domain adds its pages to.

The console owns the base layout, the navigation, sign-in and sign-out, the language switch,
the home page (the store at a glance) and the vendored front-end assets. Each domain owns its
pages (``views.py``, ``urls.py``, ``templates/<app>/``) and says where they appear in the
navigation with a ``navigation`` list on its ``AppConfig`` (:mod:`retain.console.frame`).
"""
