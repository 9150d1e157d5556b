import { stringify } from 'yaml';

/**
 * YAML for kubectl/argo: documents separated by '---', no line folding (long JSON args stay on one line).
 * Written with YAML 1.1 quoting rules because Kubernetes tooling parses YAML 1.1: an unquoted 2024-01-15, yes or
 * 0755 would come back as a timestamp, a boolean or an octal number.
 */
export function toYaml(docs: unknown[]): string {
  return docs.map((d) => stringify(d, { version: '1.1', lineWidth: 0, aliasDuplicateObjects: false })).join('---\n');
}
