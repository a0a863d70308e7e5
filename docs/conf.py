"""Sphinx configuration of the sklearn_xmtc documentation site.

Build (offline: no intersphinx, no remote images or fonts)::

    pip install -e ".[docs]"
    python -m sphinx -W -b html docs docs/_build/html
"""

import os
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS.parent))
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("MPLBACKEND", "Agg")

import sklearn_xmtc  # noqa: E402

project = "sklearn_xmtc"
author = "sklearn_xmtc developers"
copyright = "2026, sklearn_xmtc developers"
release = version = getattr(sklearn_xmtc, "__version__", "0.1.0.dev0")

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "sphinx_copybutton",
    "myst_parser",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store", "auto_examples/*.ipynb",
                    "auto_examples/*.py", "auto_examples/*.zip", "auto_examples/*.md5",
                    "auto_examples/*.codeobj.json", "sg_execution_times.rst"]
templates_path = ["_templates"]
root_doc = "index"

# autodoc / autosummary / numpydoc
autosummary_generate = True
autosummary_imported_members = True
autodoc_default_options = {"members": True, "inherited-members": True}
autodoc_typehints = "none"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True
numpydoc_xref_param_type = False

# Markdown pages (docs/benchmarks.md, docs/bad_inputs.md and the guide)
myst_enable_extensions = ["colon_fence"]
myst_heading_anchors = 3
suppress_warnings = ["myst.header", "myst.xref_missing"]

# the examples gallery, executed at build time
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": "/plot_",
    "ignore_pattern": r"(^|/)(quickstart|__init__)\.py$",  # the README's script, not a page
    "download_all_examples": False,
    "remove_config_comments": True,
    "within_subsection_order": "FileNameSortKey",
    "show_memory": False,
    "write_computation_times": False,
}

# HTML: pydata-sphinx-theme, its bundled assets only
html_theme = "pydata_sphinx_theme"
html_title = "sklearn_xmtc"
html_theme_options = {
    "navigation_with_keys": False,
    "show_prev_next": False,
    "secondary_sidebar_items": ["page-toc"],
    "footer_start": ["copyright"],
    "footer_end": [],
}
html_static_path = []
html_show_sourcelink = False


def _skip_foreign_members(app, what, name, obj, skip, options):
    """Leave out what the API pages would only copy from other libraries: torch's
    ``nn.Module`` methods (our modules document their own ``forward``) and
    scikit-learn's metadata-routing and ``set_output`` setters (documented there)."""
    import re

    qualname = getattr(obj, "__qualname__", "") or ""
    module = getattr(obj, "__module__", "") or ""
    if module.startswith("torch.") and qualname.startswith("Module."):
        return True
    if re.fullmatch(r"set_\w+_request", name) or name in ("set_output", "get_metadata_routing"):
        return True
    return skip


def setup(app):
    app.connect("autodoc-skip-member", _skip_foreign_members)
