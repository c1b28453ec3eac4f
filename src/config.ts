// The only reader of argv, the environment and the configuration file. Everything else receives a
// frozen GatehouseConfig. The file is what the Helm chart renders from values.yaml (docs/design.md,
// "Configuration"), plus the operator's own runtime settings.
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import yaml from 'js-yaml';
import { Ajv } from 'ajv';
import { emailProblem, MAX_DISPLAY_NAME_LENGTH, textProblem, usernameProblem } from './api/username.js';
import { ConfigError, errorMessage } from './errors.js';
import type { ClusterIdentity } from './fleet/cluster.js';
import { clusterIdentityProblems } from './fleet/validate.js';

export type RegistrationMode = 'approval' | 'open' | 'closed';
/** How grants reach the API server: the authorization webhook, native RBAC objects, or both. */
export type AuthorizationMode = 'webhook' | 'rbac' | 'both';

export interface RbacSettings {
  /** The leader writes at most this many RBAC objects per second (a token bucket of this size). */
  writesPerSecond: number;
  /** Subjects per RoleBinding/ClusterRoleBinding before it is split into numbered objects. */
  maxSubjectsPerObject: number;
}

export interface SeedAdmin {
  username: string;
  email?: string;
  displayName?: string;
  /** `generate`: with credentials on, the operator gives this admin a token at install (a Secret). */
  credentials?: 'generate' | 'none';
}

/** Gatehouse's own tokens for clusters without an identity provider (docs/credentials.md). */
export interface CredentialsConfig {
  enabled: boolean;
  /** How long an invitation (activation token) may wait to be redeemed. */
  invitationTTLSeconds: number;
  proxy: {
    enabled: boolean;
    host: string;
    port: number;
    /** How users reach the proxy (its Service, a load balancer); printed in the activate command. */
    externalURL?: string;
    /** A CA bundle (PEM file) users need to trust the proxy; printed in the activate command. */
    caFile?: string;
  };
  /** Failed attempts per client address and per token id, and logins (activate, rotate) per user. */
  rateLimits: { perSourcePerMinute: number; perUserPerMinute: number };
  /**
   * The audiences a TokenReview may be answered for. Empty (the default): only the API server's own;
   * the answer names no audience, which the TokenReview API defines as "the API server's".
   */
  audiences: string[];
}

/** The part of the configuration the permission index and decide() read. */
export interface PolicyConfig {
  seedAdmins: SeedAdmin[];
  /** Every Active user holds `role` in `team`'s scope (Adaptive Engine's defaults). Unset: off. */
  defaults: { role?: string; team?: string };
  /** Namespace owners hold `ownerRole` there; public namespaces give `publicRole` to every Active user. */
  projects: { ownerRole?: string; publicRole?: string };
  registration: { mode: RegistrationMode; auto: boolean };
  authorization: { mode: AuthorizationMode; denyInactiveUsers: boolean; ignoreGroups: string[]; ignoreUsers: string[]; rbac: RbacSettings };
  presets: { zenml: boolean; runai: boolean; adaptive: boolean };
  /**
   * Who this cluster is (issue 30, chart value `cluster: {name, labels}`); objects whose
   * `spec.clusters` does not select it are not in force here. Unset: UNNAMED_CLUSTER
   * (src/fleet/cluster.ts), which only objects that select no clusters hold on.
   */
  cluster?: ClusterIdentity;
}

export interface ServerConfig {
  host: string;
  port: number;
  certFile: string;
  keyFile: string;
  /** When set, callers must present a client certificate signed by this CA... */
  clientCAFile?: string;
  /**
   * ...on these routes (default: all four). The chart's default asks it only on `authorize` and
   * `authenticate`, the routes the API server reaches through kubeconfig files that can carry a
   * client certificate even where admission webhooks cannot be given one.
   */
  clientCertificateRoutes?: Array<'authorize' | 'authenticate' | 'validate' | 'mutate'>;
  maxBodyBytes: number;
  requestTimeoutMs: number;
  /**
   * On SIGTERM, keep serving this long before closing (readiness failing, every response closing
   * its connection), so routing that still points here (kube-proxy's rules, the API server's
   * open connections) moves to the other replicas first. 0 for host processes and tests.
   */
  drainSeconds?: number;
}

export interface OperatorConfig {
  /** The namespace the operator runs in (its Lease lives there; admission leaves it alone). */
  namespace: string;
  /** The operator's own username; its requests pass admission (break-glass, docs/design.md). */
  serviceAccountUsername: string;
  /** This replica's identity in the Lease. */
  identity: string;
  kubeconfig?: string;
  leaderElection: { enabled: boolean; leaseName: string; leaseDurationSeconds: number; renewDeadlineSeconds: number; retryPeriodSeconds: number };
  watch: { silenceTimeoutSeconds: number; backoffInitialMs: number; backoffMaxMs: number };
  /** Registration `auto`: at most this many Users created per second overall. */
  autoRegistrationPerSecond: number;
}

/** The web console inside the operator's Deployment (docs/console.md); off unless enabled. */
export interface ConsoleConfig {
  enabled: boolean;
  host: string;
  port: number;
  /**
   * Host header values the console answers to (e.g. gatehouse.example.com); empty means any, and
   * then only the Origin check (same origin as the Host) guards against other sites' pages.
   */
  allowedHosts: string[];
}

/**
 * Where the serving certificate comes from. `files` (the default for a config file): certFile and
 * keyFile, re-read when they change (cert-manager, your own Secret). `operator`: the operator keeps
 * a CA and the serving certificate in a Secret itself, renews and rotates them, and keeps the
 * caBundle of the named webhook configurations and a CA-only ConfigMap current (docs/helm.md,
 * "Certificates"; src/certs/).
 */
export interface CertificatesConfig {
  mode: 'files' | 'operator';
  secretName: string;
  caConfigMapName: string;
  commonName: string;
  dnsNames: string[];
  ipAddresses: string[];
  validatingWebhookConfigurations: string[];
  mutatingWebhookConfigurations: string[];
  /** Also keep a client pair for the API server in the Secret (webhook.clientCertificates.apiServerWebhooks). */
  apiServerClient: boolean;
  caValiditySeconds: number;
  caRotateBeforeSeconds: number;
  caOverlapSeconds: number;
  certValiditySeconds: number;
  certRenewBeforeSeconds: number;
  /** How often every replica reads the Secret (and the leader acts on it). */
  pollSeconds: number;
}

export interface GatehouseConfig extends PolicyConfig {
  logLevel: string;
  certificates: CertificatesConfig;
  credentials: CredentialsConfig;
  server: ServerConfig;
  operator: OperatorConfig;
  console: ConsoleConfig;
  /** The team tree and its budgets (docs/quotas.md). Optional in code: absent means the defaults. */
  teams?: { maxDepth?: number; quotaIntervalMs?: number };
  /** Access review (issue 24): how often the leader writes status.lastUsedAt. Optional in code: absent means 10m. */
  review?: { flushInterval?: string };
  /** Access requests (docs/design.md, "Access requests"). Optional in code: absent means the defaults. */
  requests?: RequestsConfig;
}

/** Access requests: how long one may wait for a decision, the controller's pace, the notification webhook. */
export interface RequestsConfig {
  /** A request nobody decided within this is Expired. */
  pendingTTLSeconds: number;
  /** How often the leader looks at every request (besides reacting to changes). */
  resyncMs: number;
  notify: {
    /** Where a JSON POST goes on every state change; unset: no notifications. */
    url?: string;
    /** A file holding the HMAC-SHA256 key for the X-Gatehouse-Signature header. */
    secretFile?: string;
    maxAttempts: number;
    backoffInitialMs: number;
    timeoutMs: number;
  };
}

/** A section of the file: an object with only the listed keys, each defaulted when absent. */
function section<const P extends Record<string, unknown>>(properties: P) {
  return { type: 'object', additionalProperties: false, default: {}, properties } as const;
}

const nameList = { type: 'array', items: { type: 'string', minLength: 1 }, default: [] } as const;

// The file's schema; ajv fills defaults, so the rest of the code never sees a missing field.
export const CONFIG_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  properties: {
    logLevel: { enum: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], default: 'info' },
    seedAdmins: {
      type: 'array',
      default: [],
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['username'],
        properties: {
          username: { type: 'string', minLength: 1, maxLength: 253 },
          email: { type: 'string', maxLength: 254 },
          displayName: { type: 'string', maxLength: 256 },
          credentials: { enum: ['generate', 'none'] },
        },
      },
    },
    credentials: section({
      enabled: { type: 'boolean', default: false },
      invitationTTLSeconds: { type: 'integer', minimum: 1, maximum: 30 * 24 * 3600, default: 24 * 3600 },
      proxy: section({
        enabled: { type: 'boolean', default: true },
        host: { type: 'string', default: '0.0.0.0' },
        port: { type: 'integer', minimum: 0, maximum: 65535, default: 8444 },
        externalURL: { type: 'string', pattern: '^(https://.*)?$' },
        caFile: { type: 'string', minLength: 1 },
      }),
      rateLimits: section({
        perSourcePerMinute: { type: 'integer', minimum: 1, maximum: 100_000, default: 60 },
        perUserPerMinute: { type: 'integer', minimum: 1, maximum: 100_000, default: 20 },
      }),
      audiences: { type: 'array', maxItems: 32, items: { type: 'string', minLength: 1, maxLength: 1024 }, default: [] },
    }),
    defaults: section({ role: { type: 'string', minLength: 1 }, team: { type: 'string', minLength: 1 } }),
    teams: section({
      maxDepth: { type: 'integer', minimum: 1, maximum: 32, default: 6 },
      quotaIntervalMs: { type: 'integer', minimum: 100, maximum: 600_000, default: 1000 },
    }),
    review: section({
      flushInterval: { type: 'string', pattern: '^[0-9]+(ms|s|m|h)$', default: '10m' },
    }),
    requests: section({
      pendingTTLSeconds: { type: 'integer', minimum: 1, maximum: 30 * 86400, default: 86400 },
      resyncMs: { type: 'integer', minimum: 100, maximum: 600_000, default: 2000 },
      notify: section({
        url: { type: 'string', pattern: '^https?://' },
        secretFile: { type: 'string', minLength: 1 },
        maxAttempts: { type: 'integer', minimum: 1, maximum: 20, default: 5 },
        backoffInitialMs: { type: 'integer', minimum: 10, maximum: 600_000, default: 1000 },
        timeoutMs: { type: 'integer', minimum: 100, maximum: 60_000, default: 5000 },
      }),
    }),
    projects: section({ ownerRole: { type: 'string', minLength: 1 }, publicRole: { type: 'string', minLength: 1 } }),
    registration: section({
      mode: { enum: ['approval', 'open', 'closed'], default: 'approval' },
      auto: { type: 'boolean', default: false },
    }),
    authorization: section({
      mode: { enum: ['webhook', 'rbac', 'both'], default: 'webhook' },
      denyInactiveUsers: { type: 'boolean', default: true },
      ignoreGroups: nameList,
      ignoreUsers: nameList,
      rbac: section({
        writesPerSecond: { type: 'number', exclusiveMinimum: 0, maximum: 10_000, default: 100 },
        maxSubjectsPerObject: { type: 'integer', minimum: 1, maximum: 3000, default: 2000 },
      }),
    }),
    // Who this cluster is (issue 30): the name and labels objects' spec.clusters select on. Empty
    // name: unnamed, and objects that select clusters hold nowhere here (src/fleet/cluster.ts).
    cluster: section({
      name: { type: 'string', maxLength: 63, default: '' },
      labels: { type: 'object', maxProperties: 32, additionalProperties: { type: 'string', maxLength: 63 }, default: {} },
    }),
    presets: section({
      zenml: { type: 'boolean', default: false },
      runai: { type: 'boolean', default: false },
      adaptive: { type: 'boolean', default: false },
    }),
    server: section({
      host: { type: 'string', default: '0.0.0.0' },
      port: { type: 'integer', minimum: 0, maximum: 65535, default: 8443 },
      certFile: { type: 'string', default: '/etc/gatehouse/tls/tls.crt' },
      keyFile: { type: 'string', default: '/etc/gatehouse/tls/tls.key' },
      clientCAFile: { type: 'string' },
      clientCertificateRoutes: {
        type: 'array', uniqueItems: true, minItems: 1,
        items: { enum: ['authorize', 'authenticate', 'validate', 'mutate'] },
        default: ['authorize', 'authenticate', 'validate', 'mutate'],
      },
      maxBodyBytes: { type: 'integer', minimum: 1024, maximum: 3 * 1024 * 1024, default: 3 * 1024 * 1024 },
      requestTimeoutMs: { type: 'integer', minimum: 100, maximum: 60_000, default: 10_000 },
      drainSeconds: { type: 'integer', minimum: 0, maximum: 120, default: 0 },
    }),
    certificates: section({
      mode: { enum: ['files', 'operator'], default: 'files' },
      secretName: { type: 'string', minLength: 1, maxLength: 253, default: 'gatehouse-tls' },
      caConfigMapName: { type: 'string', minLength: 1, maxLength: 253, default: 'gatehouse-ca' },
      commonName: { type: 'string', minLength: 1, maxLength: 64, default: 'gatehouse' },
      dnsNames: nameList,
      ipAddresses: { type: 'array', items: { type: 'string', minLength: 2, maxLength: 45 }, default: [] },
      validatingWebhookConfigurations: nameList,
      mutatingWebhookConfigurations: nameList,
      apiServerClient: { type: 'boolean', default: false },
      caValiditySeconds: { type: 'integer', minimum: 10, maximum: 20 * 365 * 86400, default: 5 * 365 * 86400 },
      caRotateBeforeSeconds: { type: 'integer', minimum: 2, maximum: 20 * 365 * 86400, default: 365 * 86400 },
      caOverlapSeconds: { type: 'integer', minimum: 1, maximum: 10 * 365 * 86400, default: 60 * 86400 },
      certValiditySeconds: { type: 'integer', minimum: 4, maximum: 5 * 365 * 86400, default: 90 * 86400 },
      certRenewBeforeSeconds: { type: 'integer', minimum: 2, maximum: 5 * 365 * 86400, default: 30 * 86400 },
      pollSeconds: { type: 'number', minimum: 0.1, maximum: 600, default: 10 },
    }),
    console: section({
      enabled: { type: 'boolean', default: false },
      host: { type: 'string', default: '0.0.0.0' },
      port: { type: 'integer', minimum: 0, maximum: 65535, default: 8080 },
      allowedHosts: { type: 'array', items: { type: 'string', minLength: 1, maxLength: 253 }, default: [] },
    }),
    operator: section({
      namespace: { type: 'string', minLength: 1, default: 'gatehouse-system' },
      serviceAccountUsername: { type: 'string', minLength: 1, default: 'system:serviceaccount:gatehouse-system:gatehouse' },
      identity: { type: 'string', minLength: 1, default: 'gatehouse' },
      kubeconfig: { type: 'string' },
      leaderElection: section({
        enabled: { type: 'boolean', default: true },
        leaseName: { type: 'string', minLength: 1, default: 'gatehouse-leader' },
        leaseDurationSeconds: { type: 'integer', minimum: 2, maximum: 600, default: 15 },
        renewDeadlineSeconds: { type: 'integer', minimum: 1, maximum: 600, default: 10 },
        retryPeriodSeconds: { type: 'integer', minimum: 1, maximum: 60, default: 2 },
      }),
      watch: section({
        silenceTimeoutSeconds: { type: 'integer', minimum: 1, maximum: 3600, default: 300 },
        backoffInitialMs: { type: 'integer', minimum: 1, maximum: 60_000, default: 500 },
        backoffMaxMs: { type: 'integer', minimum: 1, maximum: 600_000, default: 30_000 },
      }),
      autoRegistrationPerSecond: { type: 'number', exclusiveMinimum: 0, maximum: 10_000, default: 10 },
    }),
  },
} as const;

const ajv = new Ajv({ useDefaults: true, allErrors: true, strict: true });
const validateConfig = ajv.compile(CONFIG_SCHEMA);

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value as Record<string, unknown>)) deepFreeze(child);
  }
  return value;
}

/** Validates a parsed configuration object (defaults filled in) and freezes it. */
export function parseConfig(raw: unknown, source = 'configuration'): GatehouseConfig {
  const copy = structuredClone(raw ?? {}) as Record<string, unknown>;
  if (typeof copy !== 'object' || Array.isArray(copy)) throw new ConfigError(`${source}: must be a mapping`);
  if (!validateConfig(copy)) {
    const problems = (validateConfig.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? 'is invalid'}`);
    throw new ConfigError(`${source}: ${problems.join('; ')}`, { problems });
  }
  const cfg = copy as unknown as GatehouseConfig;
  // Seed admins become Users: the same canonical username (and text rules) as any User, so a
  // padded or `system:` seed is a configuration error, not a User the API server would refuse.
  for (const [i, seed] of cfg.seedAdmins.entries()) {
    const problem = usernameProblem(seed.username)
      ?? (seed.email === undefined ? undefined : emailProblem(seed.email))
      ?? (seed.displayName === undefined ? undefined : textProblem(seed.displayName, MAX_DISPLAY_NAME_LENGTH));
    if (problem) throw new ConfigError(`${source}: seedAdmins[${i}] (${JSON.stringify(seed.username)}): ${problem}`);
  }
  // The cluster's identity in the same syntax admission holds spec.clusters to (src/fleet/validate.ts):
  // a label no selector could ever name would make the objects meant for it hold nowhere.
  const clusterProblems = cfg.cluster ? clusterIdentityProblems(cfg.cluster) : [];
  if (clusterProblems.length > 0) throw new ConfigError(`${source}: ${clusterProblems.join('; ')}`, { problems: clusterProblems });
  if (cfg.operator.leaderElection.renewDeadlineSeconds >= cfg.operator.leaderElection.leaseDurationSeconds) {
    throw new ConfigError(`${source}: operator.leaderElection.renewDeadlineSeconds must be less than leaseDurationSeconds`);
  }
  const c = cfg.certificates;
  // The rotation's phases only work in this order (src/certs/plan.ts): a serving certificate is
  // renewed before it ends, a new CA is published before the old one ends, and signs only after
  // its overlap, still within the old CA's life.
  if (c.certRenewBeforeSeconds >= c.certValiditySeconds) throw new ConfigError(`${source}: certificates.certRenewBeforeSeconds must be less than certValiditySeconds`);
  if (c.caRotateBeforeSeconds >= c.caValiditySeconds) throw new ConfigError(`${source}: certificates.caRotateBeforeSeconds must be less than caValiditySeconds`);
  if (c.caOverlapSeconds >= c.caRotateBeforeSeconds) throw new ConfigError(`${source}: certificates.caOverlapSeconds must be less than caRotateBeforeSeconds`);
  if (c.mode === 'operator' && c.dnsNames.length + c.ipAddresses.length === 0) throw new ConfigError(`${source}: certificates.mode operator needs certificates.dnsNames or ipAddresses`);
  return deepFreeze(cfg);
}

export interface ConfigSources {
  argv: readonly string[];
  env: Readonly<Record<string, string | undefined>>;
  readFile?: (file: string) => string;
}

/**
 * Reads `--config FILE` (or GATEHOUSE_CONFIG), then lets a few flags and the pod's downward-API
 * environment override runtime settings.
 */
export function loadConfig(sources: ConfigSources): GatehouseConfig {
  const read = sources.readFile ?? ((f: string) => readFileSync(f, 'utf8'));
  let parsed;
  try {
    parsed = parseArgs({
      args: [...sources.argv],
      options: {
        config: { type: 'string' },
        kubeconfig: { type: 'string' },
        port: { type: 'string' },
        host: { type: 'string' },
        'log-level': { type: 'string' },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (err) {
    throw new ConfigError(`command line: ${errorMessage(err)}`);
  }
  const file = parsed.config ?? sources.env['GATEHOUSE_CONFIG'];
  let raw: Record<string, unknown> = {};
  if (file) {
    let text: string;
    try {
      text = read(file);
    } catch (err) {
      throw new ConfigError(`cannot read configuration file ${file}: ${errorMessage(err)}`, { file });
    }
    try {
      raw = (yaml.load(text) as Record<string, unknown> | null) ?? {};
    } catch (err) {
      throw new ConfigError(`configuration file ${file} is not valid YAML: ${errorMessage(err)}`, { file });
    }
  }
  const merged = structuredClone(raw);
  const section = (name: string): Record<string, unknown> => {
    const existing = merged[name];
    if (existing && typeof existing === 'object' && !Array.isArray(existing)) return existing as Record<string, unknown>;
    const fresh: Record<string, unknown> = {};
    merged[name] = fresh;
    return fresh;
  };
  if (parsed['log-level']) merged['logLevel'] = parsed['log-level'];
  if (parsed.port !== undefined) {
    const port = Number(parsed.port);
    if (!Number.isInteger(port)) throw new ConfigError(`--port must be a whole number, got ${JSON.stringify(parsed.port)}`);
    section('server')['port'] = port;
  }
  if (parsed.host) section('server')['host'] = parsed.host;
  const kubeconfig = parsed.kubeconfig ?? sources.env['KUBECONFIG'];
  if (kubeconfig) section('operator')['kubeconfig'] = kubeconfig;
  // The chart passes the pod's name and namespace through the downward API.
  if (sources.env['POD_NAME']) section('operator')['identity'] = sources.env['POD_NAME'];
  if (sources.env['POD_NAMESPACE']) section('operator')['namespace'] = sources.env['POD_NAMESPACE'];
  return parseConfig(merged, file ?? 'configuration');
}

/** Where the embedded control plane's binaries are (src/controlplane/), from the environment. */
export interface ControlPlaneEnv {
  /** scripts/controlplane-install.sh's cache. */
  cache: string;
  apiserver: string;
  /** kube-controller-manager, started beside every embedded API server (GATEHOUSE_KUBE_CONTROLLER_MANAGER). */
  controllerManager: string;
  etcd: string;
  kubectl: string;
  helm: string;
  /** Keep the data dir after stop (debugging a test). */
  keepData: boolean;
}

export function controlPlaneEnv(env: NodeJS.ProcessEnv = process.env): ControlPlaneEnv {
  const cache = env['GATEHOUSE_CACHE'] ?? path.join(os.homedir(), '.cache', 'gatehouse');
  const bin = path.join(cache, 'bin');
  return {
    cache,
    apiserver: env['GATEHOUSE_KUBE_APISERVER'] ?? path.join(bin, 'kube-apiserver'),
    controllerManager: env['GATEHOUSE_KUBE_CONTROLLER_MANAGER'] ?? path.join(bin, 'kube-controller-manager'),
    etcd: env['GATEHOUSE_ETCD'] ?? 'etcd',
    kubectl: env['GATEHOUSE_KUBECTL'] ?? path.join(bin, 'kubectl'),
    helm: env['GATEHOUSE_HELM'] ?? path.join(bin, 'helm'),
    keepData: env['GATEHOUSE_KEEP_TEST_DATA'] === '1',
  };
}
