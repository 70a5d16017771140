"""The course's Dask settings for a grading cluster (coursekit/autograde/dask-grading.yaml;
make test-dask): each names a setting that distributed has, changes it, and reaches a worker
started with DASK_CONFIG; the client's probe reads it back from the workers."""
import pytest

from coursekit.autograde import benchmark, cluster, cluster_task

# make test-dask installs requirements-dask.txt first; the other suites deselect these tests
# (and never import distributed: they run without it).
pytestmark = pytest.mark.dask


def leaves(tree, prefix=()):
    for key, value in tree.items():
        if isinstance(value, dict):
            yield from leaves(value, (*prefix, key))
        else:
            yield (*prefix, key), value


def test_every_grading_setting_is_one_of_distributeds_and_changes_it():
    from pathlib import Path

    import distributed
    import yaml

    ours = dict(leaves(yaml.safe_load(cluster.DASK_CONFIG_FILE.read_text())))
    assert ours, "no settings"
    # distributed's own defaults, as the package ships them.
    defaults = yaml.safe_load(Path(distributed.__file__).with_name("distributed.yaml")
                              .read_text())
    for path, value in ours.items():
        node = defaults
        for key in path:
            assert isinstance(node, dict) and key in node, \
                f"{'.'.join(path)} is not a setting of distributed {distributed.__version__}"
            node = node[key]
        assert node != value, f"{'.'.join(path)} is distributed's default already"


@pytest.mark.parametrize("grading_config, profiler", [(True, False), (False, True)])
def test_workers_started_with_the_settings_run_no_profiler(tmp_path, grading_config, profiler):
    import distributed

    cluster = benchmark.local_cluster(tmp_path, workers=1, grading_config=grading_config)
    with cluster as (address, _):
        with distributed.Client(address, timeout=30, set_as_default=False) as client:
            client.wait_for_workers(1, timeout=60)
            running = client.run(cluster_task.profiler_on)
    assert list(running.values()) == [profiler]
