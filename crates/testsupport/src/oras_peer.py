"""oras-py as an independent OCI client for Ferroflux's tests (plain HTTP,
anonymous: oras-py 0.2 takes a basic challenge's realm for a token URL).

push HOST REPO:TAG FILE MEDIATYPE ANNOTATIONS_JSON
    pushes FILE as the one layer of MEDIATYPE, with manifest annotations.
pull HOST REPO:TAG OUTDIR
    pulls every layer into OUTDIR (named by title, else digest) and prints
    the manifest as JSON.
"""
import json
import os
import sys

import oras.client


def client(host):
    return oras.client.OrasClient(hostname=host, insecure=True)


def main():
    cmd, host, ref = sys.argv[1], sys.argv[2], sys.argv[3]
    target = f"{host}/{ref}"
    if cmd == "push":
        path, media_type, annotations = sys.argv[4], sys.argv[5], json.loads(sys.argv[6])
        c = client(host)
        os.chdir(os.path.dirname(os.path.abspath(path)))
        c.push(
            target=target,
            files=[f"{os.path.basename(path)}:{media_type}"],
            manifest_annotations=annotations or None,
            quiet=True,
        )
    elif cmd == "pull":
        outdir = sys.argv[4]
        c = client(host)
        c.pull(target=target, outdir=outdir)
        print(json.dumps(c.get_manifest(target)))
    else:
        sys.exit(f"unknown command {cmd}")


if __name__ == "__main__":
    main()
