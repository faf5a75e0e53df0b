/**
 * EC2 Query API XML, as EC2 writes it: lowerCamel element names, lists as `<item>` children,
 * a `requestId` in every response, and errors in `<Response><Errors><Error>` with `RequestID`.
 */
import { randomUUID } from 'node:crypto';
import type { SimResponse } from '../../../src/sim/engine.ts';

/** An XML node: text, nested elements, a list (rendered as `<item>`s), or absent. */
export type XmlValue = string | number | boolean | undefined | XmlNode | readonly XmlValue[];

/** Named children of an element, in order. */
export interface XmlNode {
  readonly [name: string]: XmlValue;
}

const NS = 'http://ec2.amazonaws.com/doc/2016-11-15/';

/** Escapes text for XML content. */
export function escapeXml(text: string): string {
  return text.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Renders one element. Undefined values are omitted; arrays become `<item>` lists; empty ones self-close. */
export function element(name: string, value: XmlValue): string {
  if (value === undefined) return '';
  return wrap(name, content(value));
}

function content(value: Exclude<XmlValue, undefined>): string {
  if (Array.isArray(value)) return value.map((v: XmlValue) => element('item', v)).join('');
  if (typeof value === 'object') return children(value as XmlNode);
  return escapeXml(String(value));
}

function wrap(name: string, inner: string): string {
  return inner === '' ? `<${name}/>` : `<${name}>${inner}</${name}>`;
}

function children(node: XmlNode): string {
  return Object.entries(node)
    .map(([k, v]) => element(k, v))
    .join('');
}

/** A successful response: `<{Action}Response xmlns=…><requestId/>…</{Action}Response>`. */
export function okResponse(action: string, body: XmlNode): SimResponse {
  const xml = `<?xml version="1.0" encoding="UTF-8"?>\n<${action}Response xmlns="${NS}">${element('requestId', randomUUID())}${children(body)}</${action}Response>`;
  return { status: 200, headers: { 'content-type': 'text/xml;charset=UTF-8' }, body: xml };
}

/** An error response in EC2's shape. */
export function errorResponse(status: number, code: string, message: string): SimResponse {
  const error = element('Error', { Code: code, Message: message });
  const xml = `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors>${error}</Errors>${element('RequestID', randomUUID())}</Response>`;
  return { status, headers: { 'content-type': 'text/xml;charset=UTF-8' }, body: xml };
}

/** An EC2 API error the simulator raises while handling a call; rendered with errorResponse. */
export class Ec2SimError extends Error {
  override readonly name = 'Ec2SimError';
  readonly status: number;
  readonly code: string;
  constructor(code: string, message: string, status = 400) {
    super(message);
    this.code = code;
    this.status = status;
  }
}

/** Tags as EC2 lists them in `tagSet`. */
export function tagSet(tags: Readonly<Record<string, string>>): XmlNode[] | undefined {
  const entries = Object.entries(tags);
  if (entries.length === 0) return undefined;
  return entries.map(([key, value]) => ({ key, value }));
}
