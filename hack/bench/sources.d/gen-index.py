#!/usr/bin/env python3
"""Writes a Helm repository index.yaml of CHARTS x VERSIONS chart versions in
the layout `helm repo index` writes (apiVersion, entries sorted by name, each
version newest first with Chart.yaml's fields, urls, digest and created), for
the index half of hack/bench/sources. Written directly rather than with the
Helm SDK: packaging 20,000 archives to index them would take the bench far
longer than reading the result."""
import hashlib, sys

charts, versions, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
with open(out, "w") as f:
    f.write("apiVersion: v1\nentries:\n")
    for c in range(charts):
        name = f"chart-{c:04d}"
        f.write(f"  {name}:\n")
        for v in reversed(range(versions)):
            ver = f"{v // 100}.{(v // 10) % 10}.{v % 10}"
            digest = hashlib.sha256(f"{name}-{ver}".encode()).hexdigest()
            f.write(
                "  - annotations:\n"
                "      artifacthub.io/changes: |\n"
                "        - kind: changed\n"
                f"          description: Bump {name} to {ver} with the usual fixes and improvements\n"
                "        - kind: fixed\n"
                "          description: Fix the rendering of the service monitor when TLS is enabled\n"
                "        - kind: added\n"
                "          description: Add topology spread constraints, pod disruption budget settings and extra volume mounts\n"
                "        - kind: security\n"
                "          description: Update the base image to pick up the latest CVE fixes of the operating system packages\n"
                "      artifacthub.io/images: |\n"
                f"        - name: {name}\n"
                f"          image: ghcr.io/example/{name}:{ver}\n"
                "        - name: sidecar\n"
                "          image: ghcr.io/example/sidecar:1.4.2\n"
                "        - name: init\n"
                "          image: docker.io/library/busybox:1.36\n"
                "      artifacthub.io/license: Apache-2.0\n"
                "      artifacthub.io/prerelease: \"false\"\n"
                "      artifacthub.io/signKey: |\n"
                "        fingerprint: 0123456789ABCDEF0123456789ABCDEF01234567\n"
                "        url: https://example.com/pgp-public-key.asc\n"
                "      artifacthub.io/links: |\n"
                "        - name: source\n"
                f"          url: https://github.com/example/{name}\n"
                "    apiVersion: v2\n"
                f"    appVersion: {ver}\n"
                f"    created: \"2024-{1 + v % 12:02d}-{1 + v % 28:02d}T10:00:00.000000000Z\"\n"
                "    dependencies:\n"
                "    - condition: redis.enabled\n"
                "      name: redis\n"
                "      repository: https://charts.example.com/redis\n"
                "      version: 17.x.x\n"
                f"    description: {name} is a chart of the benchmark repository, described at some length as real charts are, to give each version the size of one in a big public index, with the install notes, the upgrade notes and the list of values one finds in such descriptions\n"
                f"    digest: {digest}\n"
                f"    home: https://example.com/{name}\n"
                f"    icon: https://example.com/{name}/icon.png\n"
                "    keywords:\n    - benchmark\n    - helm\n    - index\n"
                "    kubeVersion: '>=1.23.0-0'\n"
                "    maintainers:\n"
                "    - email: maintainer@example.com\n      name: maintainer\n      url: https://example.com/maintainer\n"
                "    - email: second.maintainer@example.com\n      name: second-maintainer\n      url: https://example.com/second-maintainer\n"
                "    - email: third.maintainer@example.com\n      name: third-maintainer\n      url: https://example.com/third-maintainer\n"
                f"    name: {name}\n"
                "    sources:\n"
                f"    - https://github.com/example/{name}\n"
                f"    - https://github.com/example/{name}-images\n"
                "    type: application\n"
                "    urls:\n"
                f"    - https://charts.example.com/{name}/{name}-{ver}.tgz\n"
                f"    version: {ver}\n"
            )
    f.write("generated: \"2024-12-01T10:00:00.000000000Z\"\n")
