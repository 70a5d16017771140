"""cosmic-ray's HTTP worker, listening on the loopback address only.

`cosmic-ray http-worker --port N` serves on every interface; this serves cosmic-ray's own
handler (`cosmic_ray.distribution.http.handle_mutate_and_test`) on 127.0.0.1. `make mutation`
starts one per core, each in its own copy of the package, and cosmic-ray's http distributor
sends each a work item at a time: the worker mutates its copy, runs the killer there and puts
the file back.

    python -m coursekit.mutation.worker PORT      (run in the folder holding the copy)
"""
import sys


def main(argv=None):
    from aiohttp import web
    from cosmic_ray.distribution.http import handle_mutate_and_test

    port = int((argv if argv is not None else sys.argv[1:])[0])
    app = web.Application()
    app.add_routes([web.post("/", handle_mutate_and_test)])
    web.run_app(app, host="127.0.0.1", port=port, print=None)


if __name__ == "__main__":
    sys.exit(main())
