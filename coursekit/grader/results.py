"""What grading a submission produces: one CheckResult per check, gathered in a GradeResult."""

from dataclasses import dataclass, field


@dataclass
class CheckResult:
    id: str
    function: str
    points: float
    max_points: float
    status: str
    message: str
    seconds: float
    # Numbers for the instructor (a saved model's accuracies, why it is held for review).
    details: dict = field(default_factory=dict)

    @property
    def is_model(self):
        """A saved model's check (its function is "saved/<file>", test_saved_models.py)."""
        return self.function.startswith("saved/")

    def to_dict(self):
        data = {"id": self.id, "function": self.function,
                "kind": "model" if self.is_model else "module",
                "points": self.points,
                "max_points": self.max_points, "status": self.status,
                "message": self.message, "seconds": round(self.seconds, 3)}
        if self.details:
            data["details"] = dict(self.details)
        return data


def _points(field_name, graded_only=False):
    """A property: the sum of field `field_name` over the checks (only those graded)."""
    return property(lambda self: round(sum(getattr(c, field_name) for c in self.checks
                                           if not graded_only or c.status != "not_graded"), 6))


@dataclass
class GradeResult:
    submission: str
    checks: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    seconds: float = 0.0

    points = _points("points")
    max_points = _points("max_points")
    graded_max_points = _points("max_points", graded_only=True)

    def by_id(self):
        return {c.id: c for c in self.checks}

    @classmethod
    def from_dict(cls, data):
        result = cls(data["submission"], notes=list(data.get("notes", [])),
                     seconds=float(data.get("seconds", 0.0)))
        result.checks = [CheckResult(c["id"], c["function"], c["points"], c["max_points"],
                                     c["status"], c["message"], c["seconds"],
                                     dict(c.get("details", {})))
                         for c in data["checks"]]
        return result

    def to_dict(self):
        return {"submission": self.submission, "points": self.points,
                "max_points": self.max_points, "graded_max_points": self.graded_max_points,
                "seconds": round(self.seconds, 3), "notes": list(self.notes),
                "checks": [c.to_dict() for c in self.checks]}
