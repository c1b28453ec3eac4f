// Direct reads of the API server for tests (faster than spawning kubectl in a polling loop).
import { GROUP, PLURALS, VERSION, type GatehouseKind } from '../../src/api/types.js';
import { createKubeClient, isNotFound, type KubeClient } from '../../src/controller/kube.js';
import type { ControlPlane } from '../../src/controlplane/controlplane.js';
import { kubeConfigFor } from './operator.js';

export interface ConditionRead {
  status: string;
  reason: string;
  message: string;
  observedGeneration?: number;
  generation?: number;
}

export interface Reader {
  client: KubeClient;
  get<T = Record<string, any>>(kind: GatehouseKind, name: string): Promise<T | undefined>;
  ready(kind: GatehouseKind, name: string): Promise<ConditionRead | undefined>;
  /** Any condition by type (a User's `Active`). */
  condition(kind: GatehouseKind, name: string, type: string): Promise<ConditionRead | undefined>;
  events(name: string): Promise<Array<{ reason: string; message: string; type: string; involvedObject: { kind: string; name: string } }>>;
}

export async function reader(cp: ControlPlane): Promise<Reader> {
  const client = createKubeClient(await kubeConfigFor(cp));
  const get = async <T>(kind: GatehouseKind, name: string): Promise<T | undefined> => {
    try {
      return await client.request<T>({ method: 'GET', path: `/apis/${GROUP}/${VERSION}/${PLURALS[kind]}/${name}`, timeoutMs: 5000 });
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  };
  const condition = async (kind: GatehouseKind, name: string, type: string): Promise<ConditionRead | undefined> => {
    const obj = await get<any>(kind, name);
    if (!obj) return undefined;
    const cond = (obj.status?.conditions ?? []).find((c: { type: string }) => c.type === type);
    if (!cond) return undefined;
    return { status: cond.status, reason: cond.reason, message: cond.message, observedGeneration: obj.status?.observedGeneration, generation: obj.metadata.generation };
  };
  return {
    client,
    get,
    ready: (kind, name) => condition(kind, name, 'Ready'),
    condition,
    async events(name) {
      // In the operator's namespace (issue 32, finding 10), whichever that is: every namespace.
      const list = await client.request<{ items: any[] }>({ method: 'GET', path: '/api/v1/events', query: { fieldSelector: `involvedObject.name=${name}` }, timeoutMs: 5000 });
      return list.items;
    },
  };
}
