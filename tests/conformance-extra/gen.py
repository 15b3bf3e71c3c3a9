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

# ---------------------------------------------------------------- batch 2
case("disc-subfolder-upward", {"compose.yaml": "services:\n  a:\n    image: \"a:${V}\"\n    volumes: [./data:/d]\n", "compose.override.yml": "services:\n  a:\n    environment: [O=1]\n", ".env": "V=root\n", "sub/deeper/.env": "V=cwd\n", "sub/deeper/.keep": ""}, project=None, cwd="sub/deeper", listed=[])
case("disc-compose-file-env", {"one.yaml": "services:\n  a: {image: a}\n", "two.yaml": "services:\n  a: {image: b}\n"}, env={"COMPOSE_FILE": "one.yaml,two.yaml", "COMPOSE_PATH_SEPARATOR": ","})
case("disc-project-directory", {"compose.yaml": "services:\n  a:\n    image: \"a:${V}\"\n    build: .\n", "proj/.env": "V=proj\n", "proj/.keep": ""}, args=["--project-directory", "proj"])
case("disc-no-files-listed", {"compose.yml": "services:\n  a: {image: a}\n"}, listed=[], project=None)
case("disc-docker-compose-yml", {"docker-compose.yml": "services:\n  a: {image: a}\n", "docker-compose.override.yml": "services:\n  a: {image: b}\n"})
case("values-misc", {"compose.yaml": """
services:
  a:
    image: a
    command: ""
    entrypoint: []
    restart: on-failure:3
    stop_grace_period: 1m30s
    memswap_limit: -1
    mem_limit: 1.5g
    shm_size: 67108864
    init: true
    platform: linux/arm64
    logging:
      options: {max-size: 10m, max-file: 3, compress: "true"}
    sysctls: {net.core.somaxconn: 1024}
    extra_hosts: ["v6:::1", "somehost=1.2.3.4"]
    dns_opt: [use-vc]
    expose: ["80/tcp", 8080]
    healthcheck:
      test: ["NONE"]
    stdin_open: true
    oom_score_adj: -500
    cpu_shares: 512
    cpuset: "0,1"
    user: "1000:1000"
    group_add: [100, audio]
    working_dir: /app
    hostname: host.example
    labels:
      com.example.n: 1
      com.example.b: true
  b:
    image: b
    healthcheck:
      disable: true
    command: null
    entrypoint: ["/bin/sh", "-c"]
"""})
case("volumes-long", {"compose.yaml": """
services:
  a:
    image: a
    volumes:
      - type: bind
        source: ./src
        target: /src
      - type: bind
        source: ./p
        target: /p
        bind: {propagation: rprivate}
      - type: bind
        source: /abs/../x
        target: /x/
        bind: {create_host_path: false}
      - type: volume
        source: data
        target: /data
        volume: {nocopy: true, subpath: sub}
      - type: tmpfs
        target: /tmp
        tmpfs: {size: 64m, mode: 1777}
      - type: volume
        target: /anon
      - type: npipe
        source: \\\\.\\pipe\\docker_engine
        target: \\\\.\\pipe\\docker_engine
volumes:
  data:
    driver: local
    driver_opts: {type: none, o: bind, device: ./local-dir}
"""})
case("ports-long", {"compose.yaml": """
services:
  a:
    image: a
    ports:
      - target: 80
        published: 8080
      - target: 81
        published: "8000-8001"
        host_ip: 127.0.0.1
        protocol: udp
        mode: host
        name: web
        app_protocol: http
      - "127.0.0.1:9000:9000"
      - 9000
"""})
case("build-full", {"compose.yaml": """
services:
  a:
    build:
      context: ./ctx
      dockerfile: ../Dockerfile.custom
      args:
        - A=1
        - B
      additional_contexts:
        - local=./other
        - svc=service:b
        - img=docker-image://alpine
        - remote=https://github.com/x/y.git
      labels: [a=b]
      target: prod
      cache_from: [type=local,src=/c]
      network: none
      shm_size: 256m
      extra_hosts: {h: 1.1.1.1}
      tags: [x:1]
      platforms: [linux/amd64]
      no_cache: "true"
      pull: "false"
  b:
    build: https://github.com/docker/compose.git#main
  c:
    build:
      context: /abs/ctx
      dockerfile: /abs/Dockerfile
"""}, env={"B": "from-env"})
case("secrets-configs", {"compose.yaml": """
services:
  a:
    image: a
    secrets:
      - s_file
      - source: s_env
        target: custom
        uid: "1000"
        gid: "1000"
        mode: 0400
    configs:
      - c_content
      - source: c_env
        target: /etc/c
        mode: 292
secrets:
  s_file: {file: ./secret.txt}
  s_env: {environment: SECRET_VAR}
configs:
  c_content: {content: "hello ${NAME:-world}"}
  c_env: {environment: CONF_VAR}
"""}, env={"SECRET_VAR": "s3cr3t", "CONF_VAR": "conf"})
case("networks-full", {"compose.yaml": """
services:
  a:
    image: a
    networks:
      front:
        ipv4_address: 172.20.0.5
        aliases: [a1, a2]
        priority: 100
      default:
  b:
    image: b
networks:
  default:
    name: custom-default
    driver_opts: {com.docker.network.bridge.name: br0}
  front:
    driver: bridge
    enable_ipv6: true
    internal: false
    ipam:
      driver: default
      config:
        - subnet: 172.20.0.0/16
          aux_addresses: {r: 172.20.0.2}
    labels: [a=b]
"""})
case("deploy-full", {"compose.yaml": """
services:
  a:
    image: a
    deploy:
      mode: global
      resources:
        limits: {cpus: '1.5', memory: 512M, pids: 100}
        reservations:
          devices:
            - capabilities: [gpu]
              device_ids: ['0', '1']
            - driver: nvidia
              count: 2
              capabilities: [gpu, utility]
      restart_policy: {condition: any}
      update_config: {parallelism: 0, order: start-first}
  b:
    image: b
    scale: 3
    deploy: {}
"""})
case("develop-watch", {"compose.yaml": """
services:
  a:
    build: .
    develop:
      watch:
        - action: sync
          path: ./src
          target: /app/src
          ignore: node_modules/
        - action: rebuild
          path: package.json
        - action: sync+restart
          path: ./config
          target: /etc/config
        - action: sync+exec
          path: ./web
          target: /web
          exec:
            command: echo hi
            user: root
"""})
case("hooks", {"compose.yaml": """
services:
  a:
    image: a
    post_start:
      - command: ./init.sh
        user: root
        privileged: true
        environment: [A=1]
    pre_stop:
      - command: [sh, -c, "echo bye"]
"""})
case("extends-inherit-all", {"compose.yaml": """
services:
  base:
    image: b
    depends_on: [db]
    volumes_from: [db]
    links: [db]
    networks: [n]
    env_file: [b.env]
  web:
    extends: base
    environment: {W: "1"}
  db:
    image: db
networks:
  n: {}
""", "b.env": "B=1\n"})
case("extends-from-included", {"compose.yaml": """
include: [lib/compose.yaml]
services:
  web:
    extends:
      file: lib/compose.yaml
      service: tmpl
    image: web
""", "lib/compose.yaml": "services:\n  tmpl:\n    image: t\n    volumes: [./x:/x]\n"})
case("include-multiple-paths", {"compose.yaml": "include:\n  - path: [inc/a.yaml, inc/b.yaml]\nservices:\n  w: {image: w}\n", "inc/a.yaml": "services:\n  x:\n    image: a\n    ports: ['80']\n", "inc/b.yaml": "services:\n  x:\n    environment: [B=1]\n"})
case("service-names-special", {"compose.yaml": "services:\n  my.svc:\n    image: a\n  '1':\n    image: b\n  x-not-ext:\n    image: c\n"})
case("default-network-external", {"compose.yaml": "services:\n  a: {image: a}\nnetworks:\n  default:\n    external: true\n    name: shared\n"})
case("top-level-nulls", {"compose.yaml": "services:\n  a:\n    image: a\n    volumes: [v:/v]\n    secrets: [s]\nvolumes:\n  v:\nsecrets:\n  s:\n    file: ./s\n"})
case("env-trailing-space-error", {"compose.yaml": "services:\n  a:\n    image: a\n    environment:\n      - 'KEY =value'\n"})
case("envfile-raw-format", {"compose.yaml": "services:\n  a:\n    image: a\n    env_file:\n      - path: r.env\n        format: raw\n", "r.env": "A='quoted'\nB=${X}\n# c\nC=x y\n"})
case("name-invalid-p", {"compose.yaml": "services:\n  a: {image: a}\n"}, project="Bad Name")
case("gpus-list", {"compose.yaml": "services:\n  a:\n    image: a\n    gpus:\n      - driver: nvidia\n        device_ids: ['0']\n        capabilities: [gpu]\n      - count: all\n"})
case("devices-long", {"compose.yaml": "services:\n  a:\n    image: a\n    devices:\n      - source: /dev/a\n        target: /dev/b\n      - /dev/c:/dev/d:rw\n    device_cgroup_rules: ['c 1:3 mr']\n"})
case("blkio", {"compose.yaml": "services:\n  a:\n    image: a\n    blkio_config:\n      weight: 10\n      device_read_bps:\n        - path: /dev/sda\n          rate: '12mb'\n"})
case("command-shell-forms", {"compose.yaml": "services:\n  a:\n    image: a\n    command: >\n      sh -c \"echo 'a b' && ls\"\n  b:\n    image: b\n    command: bash -c 'echo $$HOME'\n    entrypoint: /entry.sh --flag=\"x y\"\n"})
case("anchors-in-lists", {"compose.yaml": "x-env: &env [A=1, B=2]\nx-ports: &ports ['80:80']\nservices:\n  a:\n    image: a\n    environment: *env\n    ports: *ports\n  b:\n    image: b\n    environment: *env\n"})
case("depends-on-conditions", {"compose.yaml": "services:\n  a:\n    image: a\n    depends_on:\n      b: {condition: service_healthy, restart: true}\n      c: {condition: service_completed_successfully}\n  b: {image: b}\n  c: {image: c}\n"})
case("x-nested-extensions", {"compose.yaml": "x-a: &a {k: v}\nservices:\n  a:\n    image: a\n    x-ext: *a\n    deploy:\n      x-d: 1\n    build:\n      context: .\n      x-b: 2\nvolumes:\n  v:\n    x-v: 1\n"})

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
