// The MinIO JavaScript client against Stoa's S3 endpoint.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import * as Minio from "minio";
import { credentials, region, startStoa } from "./stoa.mjs";

let stoa, mc;
const bucket = "minio-bucket";

async function readAll(stream) {
  const chunks = [];
  for await (const c of stream) chunks.push(c);
  return Buffer.concat(chunks);
}

async function listAll(stream) {
  const items = [];
  for await (const item of stream) items.push(item);
  return items;
}

before(async () => {
  stoa = await startStoa();
  const url = new URL(stoa.endpoint);
  mc = new Minio.Client({ endPoint: url.hostname, port: Number(url.port), useSSL: false, region,
                          accessKey: credentials.accessKeyId, secretKey: credentials.secretAccessKey,
                          pathStyle: true });
  await mc.makeBucket(bucket, region);
});
after(async () => { await stoa?.stop(); });

test("bucket exists and is listed", async () => {
  assert.equal(await mc.bucketExists(bucket), true);
  assert.equal(await mc.bucketExists("no-such-bucket"), false);
  const buckets = await mc.listBuckets();
  assert.ok(buckets.some((b) => b.name === bucket));
});

test("put, stat, get and partial get", async () => {
  await mc.putObject(bucket, "dir/hello.txt", "hello minio", undefined, { "Content-Type": "text/plain", "X-Amz-Meta-Color": "blue" });
  const stat = await mc.statObject(bucket, "dir/hello.txt");
  assert.equal(stat.size, 11);
  assert.equal(stat.metaData["content-type"], "text/plain");
  assert.equal(stat.metaData.color, "blue");
  assert.equal((await readAll(await mc.getObject(bucket, "dir/hello.txt"))).toString(), "hello minio");
  assert.equal((await readAll(await mc.getPartialObject(bucket, "dir/hello.txt", 6, 5))).toString(), "minio");
});

test("a stream of unknown length goes multipart", async () => {
  const data = randomBytes(11 * 1024 * 1024);
  const client = new Minio.Client({ endPoint: mc.host, port: mc.port, useSSL: false, region,
                                    accessKey: credentials.accessKeyId, secretKey: credentials.secretAccessKey,
                                    pathStyle: true, partSize: 5 * 1024 * 1024 });
  const info = await client.putObject(bucket, "big.bin", Readable.from([data]));
  assert.match(info.etag, /-[0-9]+$/);  // a multipart upload (minio picks the part size)
  const back = await readAll(await mc.getObject(bucket, "big.bin"));
  assert.equal(createHash("sha256").update(back).digest("hex"), createHash("sha256").update(data).digest("hex"));
});

test("list v2 recursively and by folder", async () => {
  for (const k of ["l/a", "l/b/c", "l/b/d", "l/e"]) await mc.putObject(bucket, k, k);
  const all = await listAll(mc.listObjectsV2(bucket, "l/", true));
  assert.deepEqual(all.map((o) => o.name), ["l/a", "l/b/c", "l/b/d", "l/e"]);
  const folder = await listAll(mc.listObjectsV2(bucket, "l/", false));
  // Objects and common prefixes come in two lists per page (as S3's XML has them).
  assert.deepEqual(folder.map((o) => o.name ?? o.prefix).sort(), ["l/a", "l/b/", "l/e"]);
  const v1 = await listAll(mc.listObjects(bucket, "l/b/", true));
  assert.deepEqual(v1.map((o) => o.name), ["l/b/c", "l/b/d"]);
});

test("copy and remove", async () => {
  await mc.putObject(bucket, "orig", "copy me");
  const conds = new Minio.CopyConditions();
  await mc.copyObject(bucket, "copied", `/${bucket}/orig`, conds);
  assert.equal((await readAll(await mc.getObject(bucket, "copied"))).toString(), "copy me");
  await mc.removeObject(bucket, "copied");
  await assert.rejects(mc.statObject(bucket, "copied"), (e) => e.code === "NotFound");
  await mc.removeObjects(bucket, ["orig", "l/a"]);
  await assert.rejects(mc.statObject(bucket, "orig"), (e) => e.code === "NotFound");
});

test("presigned get and put", async () => {
  const putUrl = await mc.presignedPutObject(bucket, "pre.txt", 60);
  assert.equal((await fetch(putUrl, { method: "PUT", body: "presigned by minio" })).status, 200);
  const getUrl = await mc.presignedGetObject(bucket, "pre.txt", 60);
  const r = await fetch(getUrl);
  assert.equal(r.status, 200);
  assert.equal(await r.text(), "presigned by minio");
});

test("errors carry S3 codes", async () => {
  await assert.rejects(mc.getObject(bucket, "missing"), (e) => e.code === "NoSuchKey");
  await assert.rejects(mc.getObject("no-such-bucket", "x"), (e) => e.code === "NoSuchBucket");
  const wrong = new Minio.Client({ endPoint: mc.host, port: mc.port, useSSL: false, region,
                                   accessKey: credentials.accessKeyId, secretKey: "not-the-secret", pathStyle: true });
  await assert.rejects(wrong.listBuckets(), (e) => e.code === "SignatureDoesNotMatch");
});
