"""driver.run_pytest quiet: nothing on the process's streams and none of them swapped (other
threads of a grading process may write), and an error that stops the hidden tests is named in
the GraderError."""
import threading

import pytest

from coursekit.grader.driver import run_pytest
from coursekit.grader.references import GraderError


def hidden(tmp_path, name, source):
    """A hidden-tests folder with one file, `name` (unique per test: pytest.main runs in this
    process, whose sys.modules keeps what an earlier run imported)."""
    (tmp_path / "pytest.ini").write_text("[pytest]\npython_files = test_*.py\n")
    (tmp_path / name).write_text(source)
    return tmp_path / name


def test_a_quiet_run_writes_nothing_to_stdout_or_stderr(tmp_path, capfd):
    path = hidden(tmp_path, "test_quiet_a.py", "def test_ok():\n    assert True\n\n"
                                                "def test_bad():\n    assert 1 == 2\n")
    code = run_pytest([str(path)], hidden_dir=tmp_path)
    assert code == pytest.ExitCode.TESTS_FAILED
    out, err = capfd.readouterr()
    assert out == "" and err == ""


def test_a_hidden_file_that_does_not_import_is_named_in_the_error(tmp_path):
    path = hidden(tmp_path, "test_quiet_b.py", "import no_such_module_here\n")
    with pytest.raises(GraderError, match=r"test_quiet_b\.py(.|\n)*no_such_module_here"):
        run_pytest([str(path)], hidden_dir=tmp_path)


def test_a_quiet_run_in_a_thread_leaves_the_main_threads_streams_alone(tmp_path, capsys):
    path = hidden(tmp_path, "test_quiet_c.py", "import time\n\ndef test_slow():\n"
                                                "    time.sleep(0.5)\n")
    codes = []
    worker = threading.Thread(target=lambda: codes.append(
        run_pytest([str(path)], hidden_dir=tmp_path)))
    worker.start()
    printed = 0
    while worker.is_alive():
        print("main thread line")
        printed += 1
    worker.join()
    assert codes == [pytest.ExitCode.OK]
    assert capsys.readouterr().out.count("main thread line") == printed
