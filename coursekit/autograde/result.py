"""What grading one student produces: graded `Item`s gathered in a `Result`, and its JSON record.

Every step that scores something makes Items (nbgrade's cells via `pipeline`, `module_checks`,
`inline`); `pipeline` gathers them in a Result and writes it as
autograded/<student>/<assignment>.json (`Result.dumps`); `report`, `feedback`, `gradescope`
and `batch` read it back (`Result.load`). The record's keys are the fields' names, plus the
totals `score`, `max_score` and `manual_pending`, which `score.py` and the CI workflow read
as plain JSON. A record written before these classes existed (keys missing: `status`,
`pending`, `needs_manual`, `grader_notes`, ...) reads with the defaults, and its totals are
recomputed from the items.
"""
import json
from dataclasses import asdict, dataclass, field, fields

RESULT_VERSION = 1

# What an item grades (`Item.kind`; these strings are stored in the JSON and name grades.csv's
# column families, report.py).
TEST = "test"          # a test cell of a notebook (nbgrader)
ANSWER = "answer"      # an autograded code answer cell of a notebook (nbgrader)
MANUAL = "manual"      # a free-text answer cell, graded by hand in formgrader
INLINE = "inline"      # a choice inline question, scored from the notebook text (inline.py)
MODULE = "module"      # a hidden check of the submitted cs231n package (coursekit.grader)
MODEL = "model"        # a saved model, scored on CIFAR-10 (coursekit.grader.models)
KINDS = (TEST, ANSWER, MANUAL, INLINE, MODULE, MODEL)

# `Result.status`: graded to the end, the grading itself failed (a grader problem, see
# `error_detail`), or a regrade was stopped half-way (batch.mark_interrupted). A graded
# result's record has no "status" key (nor "error_detail"), as before Result existed: readers
# of the JSON tell a finished student by its absence.
GRADED, ERROR, INTERRUPTED = "graded", "error", "interrupted"

# The message of an item whose score the instructor set by hand in formgrader.
BY_HAND = "graded by hand"


@dataclass
class Review:
    """A saved model held for review (reviews.py): scored 0 until the instructor decides."""

    status: str                     # "pending", "released" or "withheld"
    validation: float | None = None  # the model's validation and test accuracy
    test: float | None = None
    held: float = 0.0               # the points its test accuracy earns once released
    reason: str = ""                # why it is held (for the instructor)
    message: str = ""               # the student's message while it is pending


@dataclass
class Item:
    """One graded item: a notebook cell, a module check, a saved model or an inline answer."""

    id: str                     # unique in a result: "knn:test_dists", "module:layers.relu"...
    kind: str                   # one of KINDS ("" in a hand-written record that lacks it)
    score: float
    max_score: float
    column: str = ""            # grades.csv column (several checks share one); default: id
    message: str = ""           # for the student: never an expected value or a hidden test
    status: str = ""            # a module/model check's status (check_report.STATUS_WORDS)
    pending: bool = False       # waits for a grade by hand (formgrader)
    needs_manual: bool = False  # an inline answer with a free-text part to grade by hand
    # The instructor set this score in formgrader (a manual score on an autograded cell, or the
    # grade of a free-text answer): `message` then says so, and the automatic message (e.g.
    # "your answer: 2 (not correct)") waits in `auto_message` in case the score is taken back.
    by_hand: bool = False
    auto_message: str = ""
    comment: str = ""           # the grader's comment on this cell in formgrader
    review: Review | None = None

    def __post_init__(self):
        self.column = self.column or self.id
        self.score, self.max_score = float(self.score), float(self.max_score)

    def set_by_hand(self, by_hand):
        """Mark the score as the instructor's (True) or the automatic one (False again). A
        free-text answer has no automatic message (pipeline.manual_message words it)."""
        if self.kind == MANUAL:
            pass
        elif by_hand and not self.by_hand:
            self.auto_message, self.message = self.message, BY_HAND
        elif not by_hand and self.by_hand:
            self.message, self.auto_message = self.auto_message, ""
        self.by_hand = bool(by_hand)

    @property
    def notebook(self):
        """The notebook of an item of a notebook cell ("knn:test_dists", or an inline question
        "inline:knn:knn_inline_q2"); "" for the others."""
        parts = self.id.split(":")
        if parts[0] == "inline":
            parts = parts[1:]
        of_a_cell = self.kind in (TEST, ANSWER, MANUAL, INLINE) or (
            not self.kind and parts[0] not in ("module", "model"))
        return parts[0] if of_a_cell and len(parts) > 1 else ""

    @property
    def held(self):
        """A saved model held for review with no decision yet."""
        return self.review is not None and self.review.status == "pending"

    def to_json(self):
        # The fields one by one, not dataclasses.asdict: its deep copies of every string and
        # number made writing a class's records the larger part of an export.
        data = {name: getattr(self, name) for name in _ITEM_FIELDS}
        if self.review is None:
            del data["review"]
        else:
            data["review"] = asdict(self.review)
        return data

    @classmethod
    def from_json(cls, data):
        data = dict(data)
        review = data.pop("review", None)
        known = {f.name for f in fields(cls)}
        item = cls(**{k: v for k, v in data.items() if k in known and k != "kind"},
                   kind=data.get("kind", ""))
        item.review = Review(**review) if review else None
        return item


_ITEM_FIELDS = tuple(f.name for f in fields(Item))


def _total(field_name, keep=None, doc=None):
    """A property: the sum of field `field_name` over the items (those `keep` accepts)."""
    return property(lambda self: round(sum(getattr(i, field_name) for i in self.items
                                           if keep is None or keep(i)), 4),
                    doc=doc or f"The sum of the items' {field_name}.")


@dataclass
class Result:
    """A student's graded items, what the student and the instructor are told, the totals."""

    student: str
    assignment: str
    items: list = field(default_factory=list)             # [Item]
    # {notebook: {"status", "message", "file", "seconds"}}: collect's manifest entry of each
    # notebook, its status updated by nbgrade ("graded", "failed", "missing", ...).
    notebooks: dict = field(default_factory=dict)
    notices: list = field(default_factory=list)           # for the student
    grader_notes: list = field(default_factory=list)      # for the instructor (sandbox kind...)
    fingerprint: str = ""                                 # of the collected submission
    status: str = GRADED
    error_detail: str = ""                                # the traceback of an ERROR
    timing: dict = field(default_factory=dict)            # seconds per stage
    version: int = RESULT_VERSION

    score = _total("score")
    max_score = _total("max_score")
    manual_pending = _total("max_score", lambda i: i.pending,
                            doc="The points still waiting for a grade by hand.")

    @classmethod
    def error(cls, student, assignment, error, detail=""):
        """The result of a student the grading itself failed on (not the student's fault)."""
        return cls(student, assignment, status=ERROR, error_detail=detail[-4000:],
                   notices=[f"grading failed: {error}; the instructor has been told (see the "
                            "log)"])

    def to_json(self):
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        if self.status == GRADED:
            del data["status"], data["error_detail"]
        data["items"] = [i.to_json() for i in self.items]
        data.update(score=self.score, max_score=self.max_score,
                    manual_pending=self.manual_pending)
        return data

    @classmethod
    def from_json(cls, data):
        """A Result from a JSON record (ValueError when it is not one)."""
        try:
            known = {f.name for f in fields(cls)} - {"items"}
            result = cls(**{k: v for k, v in data.items() if k in known})
            result.items = [Item.from_json(i) for i in data.get("items", [])]
        except (TypeError, AttributeError, KeyError) as exc:
            raise ValueError(f"not a grading result ({type(exc).__name__}: {exc})") from None
        return result

    def notebooks_in_order(self, order):
        """[(name, info)] of `notebooks` in `order` (the course's question order), then any
        others: the JSON record stores them sorted by name."""
        rank = {name: i for i, name in enumerate(order)}
        return sorted(self.notebooks.items(), key=lambda kv: (rank.get(kv[0], len(rank)), kv[0]))

    def set_comments(self, comments):
        """Attach the grader's comments ({"<notebook>:<cell>": text}, gradebook.cell_comments):
        to the item of that cell, else to its notebook's entry (a solution cell that carries
        no points)."""
        by_id = {item.id.removeprefix("inline:"): item for item in self.items}
        for info in self.notebooks.values():
            info.pop("comments", None)
        for item in self.items:
            item.comment = ""
        for key, text in comments.items():
            if key in by_id:
                by_id[key].comment = text
            else:
                notebook, _, cell = key.partition(":")
                if notebook in self.notebooks:
                    self.notebooks[notebook].setdefault("comments", []).append([cell, text])

    def dumps(self):
        return json.dumps(self.to_json(), indent=2, sort_keys=True) + "\n"

    def canonical(self):
        """The record as compact JSON with its keys sorted: equal for equal records, and some
        ten times cheaper than `dumps` (whose indentation leaves json's C encoder unused)."""
        return json.dumps(self.to_json(), sort_keys=True, separators=(",", ":"))

    @classmethod
    def load(cls, path):
        """The Result stored at `path` (OSError, or ValueError for a file that is not one)."""
        return cls.from_json(json.loads(path.read_text(encoding="utf-8")))
