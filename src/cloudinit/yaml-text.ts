// YAML text for cloud-init, which parses with PyYAML (YAML 1.1): MACs such as
// "00:11:22:33:44:55" are base-60 integers there unless quoted, so emit 1.1 quoting.
import { stringify } from 'yaml';

export const cloudInitYaml = (value: unknown): string => stringify(value, { version: '1.1', lineWidth: 0 });
