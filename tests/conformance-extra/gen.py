#!/usr/bin/env python3
"""Generate extra conformance cases (edge cases beyond the shared corpus).

Each case is written as a folder with case.json and its files; expectations are then
recorded with Docker Compose v2.40.3 (`../../../shared/conformance/record --cases cases
--cmd '<docker-compose> -f {files} -p {project} config --format json'`).
"""
import json, os, sys, shutil

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "cases")

CASES = {}

def case(name, files, project="p", env=None, args=None, cwd=None, listed=None, desc=""):
    CASES[name] = dict(files=files, project=project, env=env or {}, args=args or [], cwd=cwd,
                       listed=listed, desc=desc)

# ---------------------------------------------------------------- interpolation
case("interp-defaults", {"compose.yaml": """
services:
  web:
    image: "${IMG:-nginx}:${TAG-latest}"
    command: ["echo", "${EMPTY:-was-empty}", "${EMPTY-kept}", "${SET:+alt}", "${UNSET+alt}", "$$HOME", "$${X}", "a$", "${NESTED:-${SET}-x}"]
    environment:
      A: "${SET}"
      B: $SET
      C: ${UNSET}
      "${KEY}": literal-key
    labels:
      - "x=${SET:-d}"
"""}, env={"SET": "v", "EMPTY": ""})
case("interp-casts", {"compose.yaml": """
services:
  web:
    image: x
    privileged: "${T}"
    read_only: "yes"
    tty: "${F}"
    cpus: "${C}"
    scale: "${S}"
    mem_limit: "${M}"
    ports:
      - target: "${P}"
        published: "${P}"
    healthcheck:
      retries: "${R}"
      disable: "false"
    ulimits:
      nofile: "${S}"
      nproc: {soft: "${S}", hard: "${S}"}
    deploy:
      replicas: "${S}"
      resources:
        limits: {cpus: "${C}", memory: "${M}"}
"""}, env={"T": "true", "F": "off", "C": "0.1", "S": "2", "M": "256m", "P": "8080", "R": "3"})
case("interp-required-error", {"compose.yaml": "services:\n  a:\n    image: ${NOPE:?please set NOPE}\n"})
case("interp-invalid-error", {"compose.yaml": "services:\n  a:\n    image: ${NOPE:x}\n"})
case("interp-cast-error", {"compose.yaml": "services:\n  a:\n    image: x\n    scale: abc\n"})
case("interp-multiline", {"compose.yaml": """
services:
  a:
    image: x
    command:
      - sh
      - -c
      - |
        echo ${SET:-d}
        echo $$PATH
        echo ${UNSET:-a}}
"""}, env={"SET": "v"})

# ---------------------------------------------------------------- merge
case("merge-many-fields", {"compose.yaml": """
services:
  web:
    image: a
    command: [a, b]
    entrypoint: x
    environment: {A: "1", B: "2"}
    labels: {l1: a}
    ports: ["80:80", "443:443"]
    expose: [1000]
    volumes: ["./data:/data", "cache:/cache"]
    dns: 8.8.8.8
    dns_search: [a.com]
    extra_hosts: ["h1:1.1.1.1"]
    depends_on: [db]
    networks: [front]
    logging: {driver: syslog, options: {a: "1"}}
    ulimits: {nofile: {soft: 1, hard: 2}}
    cap_add: [NET_ADMIN]
    secrets: [s1]
    healthcheck: {test: [CMD, a], interval: 10s}
    deploy: {resources: {limits: {memory: 1g}}, labels: [a=b]}
    sysctls: [a=1]
    tmpfs: /t1
    build: ./ctx
  db:
    image: db
networks:
  front: {}
  back: {}
volumes:
  cache: {}
secrets:
  s1: {file: ./s1.txt}
""", "compose.override.yaml": """
services:
  web:
    image: b
    command: [c]
    environment: [B=3, C]
    labels: [l2=b]
    ports: ["443:443", "8080:80"]
    expose: ["1000", "2000"]
    volumes: [{type: volume, source: other, target: /data}]
    dns: [1.1.1.1]
    extra_hosts: {h2: 2.2.2.2, h1: 1.1.1.1}
    depends_on: {db: {condition: service_healthy}}
    networks: {back: {aliases: [b]}}
    logging: {options: {b: "2"}}
    ulimits: {nofile: 5}
    cap_add: [NET_ADMIN, SYS_TIME]
    secrets: [{source: s1, target: /run/secrets/s1, mode: 0444}]
    healthcheck: {test: [CMD, b], retries: 2}
    deploy: {resources: {limits: {cpus: "0.5"}}, labels: {c: d}}
    sysctls: {b: 2}
    tmpfs: [/t2]
    build: {dockerfile: Dockerfile.dev, args: [X=1]}
volumes:
  other: {}
"""}, listed=["compose.yaml", "compose.override.yaml"])
case("merge-reset-override", {"compose.yaml": """
services:
  web:
    image: a
    ports: ["80:80"]
    environment: {A: "1", B: "2"}
    command: [x]
    labels: {a: b}
  other:
    image: b
""", "override.yaml": """
services:
  web:
    ports: !reset []
    environment: !override {C: "3"}
    command: !reset null
    labels: !reset {}
"""}, listed=["compose.yaml", "override.yaml"])
case("merge-logging-driver-change", {"a.yaml": "services:\n  w:\n    image: x\n    logging: {driver: syslog, options: {a: '1'}}\n", "b.yaml": "services:\n  w:\n    logging: {driver: json-file, options: {max-size: 1m}}\n"}, listed=["a.yaml", "b.yaml"])
case("merge-null-keeps", {"a.yaml": "services:\n  w:\n    image: x\n    user: root\n", "b.yaml": "services:\n  w:\n    user: null\n    hostname: h\n"}, listed=["a.yaml", "b.yaml"])
case("merge-ipam", {"a.yaml": """
services:
  w: {image: x, networks: [n]}
networks:
  n:
    ipam:
      config:
        - subnet: 10.0.0.0/24
          gateway: 10.0.0.1
""", "b.yaml": """
networks:
  n:
    ipam:
      config:
        - subnet: 10.0.0.0/24
          ip_range: 10.0.0.0/25
        - subnet: 10.1.0.0/24
"""}, listed=["a.yaml", "b.yaml"])

# ---------------------------------------------------------------- extends
case("extends-local-and-file", {"compose.yaml": """
services:
  base:
    image: base
    environment: [A=1]
    ports: ["80"]
  web:
    extends: base
    environment: [B=2]
    ports: ["81"]
  remote:
    extends:
      file: common/common.yaml
      service: tmpl
    command: echo remote
volumes:
  named: {}
""", "common/common.yaml": """
services:
  tmpl:
    extends: root
    build: ./app
    volumes: ["./data:/data", "named:/n"]
    env_file: vars.env
    labels: {from: tmpl}
  root:
    image: root
    working_dir: /root
""", "common/vars.env": "X=1\n", "common/app/.keep": ""})
case("extends-cycle", {"compose.yaml": "services:\n  a:\n    extends: b\n    image: x\n  b:\n    extends: a\n"})
case("extends-missing", {"compose.yaml": "services:\n  a:\n    extends: nope\n    image: x\n"})
case("extends-reset", {"compose.yaml": """
services:
  base:
    image: x
    ports: ["80:80"]
    environment: {A: "1"}
  web:
    extends: base
    ports: !reset []
"""})

# ---------------------------------------------------------------- include
case("include-basic", {"compose.yaml": """
include:
  - sub/compose.yaml
  - path: other/compose.yaml
    env_file: other/o.env
services:
  web:
    image: web
    depends_on: [api]
""", "sub/compose.yaml": """
services:
  api:
    image: api:${TAG}
    build: .
    volumes: ["./x:/x"]
""", "sub/.env": "TAG=sub\n", "other/compose.yaml": "services:\n  worker:\n    image: w:${OV}\n    env_file: w.env\n", "other/o.env": "OV=1\n", "other/w.env": "W=1\n"})
case("include-conflict-merge", {"compose.yaml": """
include: [inc.yaml]
services:
  api:
    image: local
    environment: [L=1]
""", "inc.yaml": "services:\n  api:\n    image: included\n    environment: [I=1]\n    ports: ['80']\n"})
case("include-project-directory", {"compose.yaml": """
include:
  - path: ./inc/compose.yaml
    project_directory: ./proj
services: {}
""", "inc/compose.yaml": "services:\n  a:\n    build: .\n    volumes: [./v:/v]\n", "proj/.keep": ""})

# ---------------------------------------------------------------- profiles
case("profiles-cli", {"compose.yaml": """
services:
  a: {image: a}
  b: {image: b, profiles: [debug]}
  c: {image: c, profiles: [test, debug]}
  d: {image: d, profiles: [other]}
"""}, args=["--profile", "debug"])
case("profiles-env", {"compose.yaml": "services:\n  a: {image: a}\n  b: {image: b, profiles: [x]}\n  c: {image: c, profiles: [y]}\n"}, env={"COMPOSE_PROFILES": "x, y"})
case("profiles-star", {"compose.yaml": "services:\n  a: {image: a}\n  b: {image: b, profiles: [x]}\n"}, args=["--profile", "*"])
case("profiles-dependency-on-inactive", {"compose.yaml": "services:\n  a:\n    image: a\n    depends_on:\n      b: {condition: service_started, required: false}\n  b: {image: b, profiles: [x]}\n"})
case("profiles-dependency-required-error", {"compose.yaml": "services:\n  a:\n    image: a\n    depends_on: [b]\n  b: {image: b, profiles: [x]}\n"})

# ---------------------------------------------------------------- normalization
case("normalize-implicit-deps", {"compose.yaml": """
services:
  a:
    image: a
    network_mode: service:b
    ipc: service:c
    pid: service:d
    volumes_from: [e, "f:ro", "container:xyz"]
    links: [g, "h:alias"]
  b: {image: b}
  c: {image: c}
  d: {image: d}
  e: {image: e}
  f: {image: f}
  g: {image: g}
  h: {image: h}
"""})
case("normalize-short-syntaxes", {"compose.yaml": """
services:
  a:
    image: a
    ports: [80, "8080:80/udp", "127.0.0.1::90", "[::1]:81:81", "9000-9002:9000-9002", "10000-10010:80"]
    volumes: ["/anon", "vol:/v:ro,nocopy", "./rel:/r:z", "~/h:/h:rw,rshared", ".:/dot/../dot2/"]
    devices: ["/dev/sda", "/dev/sdb:/dev/xvdb", "/dev/sdc:/dev/sdc:r"]
    tmpfs: /run
    gpus: all
    extra_hosts: ["a:1.1.1.1", "b=2.2.2.2", "c:::1"]
    expose: [80, "81-82"]
    pull_policy: if_not_present
    build:
      context: .
      dockerfile_inline: FROM x
      ssh: [default]
      secrets: [bs]
    secrets: [s]
    configs: [c]
    healthcheck:
      test: curl -f localhost
      interval: 90s
      timeout: 1500ms
      start_period: 1h30m
volumes:
  vol: {}
secrets:
  s: {file: s.txt}
  bs: {environment: HOME}
configs:
  c: {content: hello}
"""})
case("normalize-env-resolution", {"compose.yaml": """
services:
  a:
    image: a
    environment:
      - FROM_SHELL
      - FROM_DOTENV
      - MISSING
      - EMPTY=
      - NUM=1
    env_file: [a.env, {path: missing.env, required: false}]
  b:
    image: b
    environment:
      FROM_SHELL:
      MISSING:
      BOOL: "true"
      FLOAT: 1.50
      OCT: 0755
    build:
      context: .
      args: [FROM_SHELL, MISSING, X=1]
""", ".env": "FROM_DOTENV=dot\nFROM_SHELL=overridden-by-shell\n", "a.env": "# comment\nFILE_A=1\nexport FILE_B='lit ${X}'\nFILE_C=\"dq ${FROM_SHELL}\\n\"\nNUM=from-file\n"}, env={"FROM_SHELL": "shell"})
case("normalize-resources-names", {"compose.yaml": """
services:
  a:
    image: a
    networks: [n1, n2, n3]
    volumes: [v1:/1, v2:/2]
networks:
  n1:
  n2: {external: true}
  n3: {name: custom}
  unused: {}
volumes:
  v1: {}
  v2: {external: {name: ext-v2}}
  unused: {}
"""})

# ---------------------------------------------------------------- errors
case("err-undefined-network", {"compose.yaml": "services:\n  a:\n    image: a\n    networks: [nope]\n"})
case("err-undefined-volume", {"compose.yaml": "services:\n  a:\n    image: a\n    volumes: [nope:/x]\n"})
case("err-undefined-secret", {"compose.yaml": "services:\n  a:\n    image: a\n    secrets: [nope]\n"})
case("err-cycle", {"compose.yaml": "services:\n  web:\n    image: a\n    depends_on: [db]\n  db:\n    image: b\n    depends_on: [web]\n"})
case("err-bad-port", {"compose.yaml": "services:\n  a:\n    image: a\n    ports: ['80800:80']\n"})
case("err-bad-duration", {"compose.yaml": "services:\n  a:\n    image: a\n    healthcheck:\n      interval: 10x\n"})
case("err-unknown-key", {"compose.yaml": "services:\n  a:\n    image: a\n    imagee: b\n"})
case("err-wrong-type", {"compose.yaml": "services:\n  a:\n    image: a\n    ports: 80\n"})
case("err-duplicate-key", {"compose.yaml": "services:\n  a:\n    image: a\n    image: b\n"})
case("err-invalid-yaml", {"compose.yaml": "services:\n  a:\n    image: [a\n"})
case("err-empty", {"compose.yaml": ""})
case("err-missing-env-file", {"compose.yaml": "services:\n  a:\n    image: a\n    env_file: nope.env\n"})
case("err-no-image", {"compose.yaml": "services:\n  a:\n    environment: [A=1]\n"})
case("err-top-level-list", {"compose.yaml": "- a\n- b\n"})
case("err-bad-volume-spec", {"compose.yaml": "services:\n  a:\n    image: a\n    volumes: ['a:b:c:d']\n"})
case("err-network-mode-and-networks", {"compose.yaml": "services:\n  a:\n    image: a\n    network_mode: host\n    networks: [default]\n"})

# ---------------------------------------------------------------- project name
case("name-top-level", {"compose.yaml": "name: My_Project-1\nservices:\n  a: {image: a}\n"}, project=None)
case("name-env", {"compose.yaml": "name: ignored\nservices:\n  a: {image: a}\n"}, project=None, env={"COMPOSE_PROJECT_NAME": "fromenv"})
case("name-dotenv", {"compose.yaml": "services:\n  a: {image: \"a:${COMPOSE_PROJECT_NAME}\"}\n", ".env": "COMPOSE_PROJECT_NAME=fromdotenv\n"}, project=None)
case("name-interpolated", {"compose.yaml": "name: ${PREFIX}-app\nservices:\n  a: {image: a}\n"}, project=None, env={"PREFIX": "Demo"})

# ---------------------------------------------------------------- env files
case("envfile-cli-multiple", {"compose.yaml": "services:\n  a:\n    image: \"a:${A}-${B}\"\n", "one.env": "A=1\nB=1\n", "two.env": "B=2\n", ".env": "A=dot\n"}, args=["--env-file", "one.env", "--env-file", "two.env"])
case("envfile-compose-env-files", {"compose.yaml": "services:\n  a:\n    image: \"a:${A}\"\n", "x.env": "A=x\n", ".env": "A=dot\n"}, env={"COMPOSE_ENV_FILES": "x.env"})
case("envfile-syntax", {"compose.yaml": "services:\n  a:\n    image: a\n    env_file: s.env\n", "s.env": "PLAIN=value # comment\nSQ='single $X # not comment'\nDQ=\"double\\ttab\"\nCOLON: yaml-style\nexport EXPORTED=yes\nEMPTY=\nSPACED = spaced value  \nINTERP=${PLAIN}-${UNDEFINED:-def}\nMULTI=\"line1\nline2\"\n"})

# ---------------------------------------------------------------- yaml
case("yaml-anchors-merge", {"compose.yaml": """
x-common: &common
  image: base
  environment: &env
    A: "1"
  restart: always
x-more: &more
  labels: {x: y}
services:
  a:
    <<: [*common, *more]
    environment:
      <<: *env
      B: "2"
  b:
    <<: *common
    restart: "no"
"""})
case("yaml-multi-doc", {"compose.yaml": "services:\n  a: {image: a}\n---\nservices:\n  a: {environment: [A=1]}\n  b: {image: b}\n"})
case("yaml-1-1-values", {"compose.yaml": """
services:
  a:
    image: a
    environment:
      OCT: 0755
      HEX: 0x1F
      UNDERSCORE: 1_000
      YES: yes
      ON: on
      FLOAT: 1e3
      INF: .inf
      BIG: 99999999999999999999
    labels:
      n: null
      t: ~
"""})
case("yaml-timestamp-error", {"compose.yaml": "services:\n  a:\n    image: a\n    environment:\n      DATE: 2001-12-14\n"})
case("yaml-timestamp-quoted", {"compose.yaml": "services:\n  a:\n    image: a\n    environment:\n      DATE: '2001-12-14'\n      NOTDATE: 2001-13-14\n"})
case("include-identical-ok", {"compose.yaml": "include: [inc.yaml]\nservices:\n  api:\n    image: same\n", "inc.yaml": "services:\n  api:\n    image: same\n"})
case("yaml-x-extensions", {"compose.yaml": """
x-top: {a: [1, 2]}
x-str: hello
services:
  a:
    image: a
    x-svc: 1
networks:
  n:
    x-net: 1
"""})

def main():
    only = sys.argv[1:]
    os.makedirs(OUT, exist_ok=True)
    for name, c in CASES.items():
        if only and name not in only:
            continue
        d = os.path.join(OUT, name)
        if os.path.isdir(d):
            shutil.rmtree(d)
        os.makedirs(d)
        for fn, content in c["files"].items():
            p = os.path.join(d, fn)
            os.makedirs(os.path.dirname(p), exist_ok=True)
            with open(p, "w") as fh:
                fh.write(content.lstrip("\n") if fn.endswith((".yaml", ".yml")) else content)
        files = c["listed"] if c["listed"] is not None else (["compose.yaml"] if "compose.yaml" in c["files"] else [])
        cj = {"description": c["desc"] or name, "origin": "rcompose extra cases", "files": files,
              "project": c["project"], "env": c["env"], "args": c["args"]}
        if c["cwd"]:
            cj["cwd"] = c["cwd"]
        with open(os.path.join(d, "case.json"), "w") as fh:
            json.dump(cj, fh, indent=2)

if __name__ == "__main__":
    main()
