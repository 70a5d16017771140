"""The hidden checks run with the grading plugin: options, markers and the `student` fixture."""

pytest_plugins = ["coursekit.grader.plugin"]
