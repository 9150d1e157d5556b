import type { ObjectMeta } from './argoTypes.js';

/**
 * The few core Kubernetes objects batchscore renders beside Argo's (whose types come from Argo's own schema in
 * argoTypes.ts): only the fields it sets.
 */
export interface ConfigMap {
  apiVersion: 'v1';
  kind: 'ConfigMap';
  metadata: ObjectMeta;
  data: Record<string, string>;
}
export interface ServiceAccount {
  apiVersion: 'v1';
  kind: 'ServiceAccount';
  metadata: ObjectMeta;
}
export interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}
export interface Role {
  apiVersion: 'rbac.authorization.k8s.io/v1';
  kind: 'Role';
  metadata: ObjectMeta;
  rules: PolicyRule[];
}
export interface RoleBinding {
  apiVersion: 'rbac.authorization.k8s.io/v1';
  kind: 'RoleBinding';
  metadata: ObjectMeta;
  roleRef: { apiGroup: 'rbac.authorization.k8s.io'; kind: 'Role'; name: string };
  subjects: { kind: 'ServiceAccount'; name: string; namespace?: string }[];
}
