"""The student functions the hidden checks grade, and the file of the package that holds each.

Every hidden test names one of them (`@pytest.mark.function(...)`); the saved models are named
`saved/<file>`. Everything else in a submitted package is given code.
"""
from coursekit.course import current

# {"Class.method" or "function": its file relative to the package}, in question order: the
# functions of course.toml's student_modules that hold a solution region in the master.
STUDENT_FUNCTIONS = current().student_functions

SAVED_PREFIX = "saved/"


def module_of(function):
    """The dotted module of a student function ("cs231n.layers"); None for a saved model."""
    if function.startswith(SAVED_PREFIX):
        return None
    path = STUDENT_FUNCTIONS[function]
    return "cs231n." + path.removesuffix(".py").replace("/", ".")


def is_student_code(relpath, function_name):
    """Whether a traceback frame (file relative to cs231n/, function name) is student code."""
    names = {f.split(".")[-1] for f, p in STUDENT_FUNCTIONS.items() if p == relpath}
    return function_name in names
