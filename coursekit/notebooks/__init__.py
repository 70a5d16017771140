"""The master notebooks: validation in grading mode, the full real-data run, inline answers."""
