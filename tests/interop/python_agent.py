#!/usr/bin/python3
"""A second nrm agent, in Python, written from docs/PROTOCOL.md alone.

It uses pyzmq (CURVE), PyNaCl and flatc's generated Python code, and none of the C++. The
interop test runs it against a real nrm-broker, beside C++ agents:

  python_agent.py --gen DIR --config AGENT.toml send --to ID --name NAME
      seal a referral offer whose person's first name is NAME, sign it, send it, check the
      broker's receipt; print "accepted <message id hex>"
  python_agent.py --gen DIR --config AGENT.toml receive
      wait for one delivery, verify and open it, acknowledge it; print
      "received <kind> from <sender> first_name=<name>"

Exit 0 on success; 1 with a message on stderr otherwise.
"""

import argparse
import base64
import hashlib
import os
import secrets
import struct
import sys
import time
import tomllib

import flatbuffers
import zmq
from nacl.bindings import (crypto_aead_xchacha20poly1305_ietf_decrypt,
                           crypto_aead_xchacha20poly1305_ietf_encrypt, crypto_box_afternm,
                           crypto_box_beforenm, crypto_box_open_afternm)
from nacl.exceptions import BadSignatureError
from nacl.public import PrivateKey
from nacl.signing import SigningKey, VerifyKey

WIRE_VERSION = 2


def fail(message):
    print("python_agent: " + message, file=sys.stderr)
    sys.exit(1)


def load_toml(path):
    with open(path, "rb") as f:
        return tomllib.load(f)


def load_directory(path, authority_key):
    """PROTOCOL.md section 2: body = all before the last line; that line holds the signature."""
    text = open(path, "rb").read()
    start = text.rstrip(b"\n").rfind(b"\n") + 1
    body, last = text[:start], text[start:].strip()
    if not last.startswith(b'signature = "'):
        fail("directory is not signed")
    signature = bytes.fromhex(last[len(b'signature = "'):-1].decode())
    try:
        VerifyKey(authority_key).verify(b"nrm/directory/v1\x00" + body, signature)
    except BadSignatureError:
        fail("directory signature does not verify")
    return tomllib.loads(body.decode())


def nested_bytes(builder, data):
    """A [ubyte] holding a nested FlatBuffer, its first byte aligned to 8 (PROTOCOL.md 5)."""
    builder.Prep(8, len(data))
    return builder.CreateByteVector(data)


class Agent:
    def __init__(self, config_path, gen_dir, timeout_s):
        self.timeout_s = timeout_s
        sys.path.insert(0, gen_dir)
        global Envelope, Body, Header, WrappedKey, Payload, PersonSection
        from nrm.wire import Body, Envelope, Header, WrappedKey  # noqa: F401
        from nrm.payload import Payload, PersonSection  # noqa: F401

        base = os.path.dirname(os.path.abspath(config_path))
        config = load_toml(config_path)
        self.id = config["agency"]
        keys = load_toml(os.path.join(base, config["key_file"]))
        if os.stat(os.path.join(base, config["key_file"])).st_mode & 0o077:
            fail("secret key file is readable by others")
        self.sign_secret = bytes.fromhex(keys["sign_secret"])  # seed || public key
        self.box_secret = bytes.fromhex(keys["box_secret"])
        curve_secret = bytes.fromhex(keys["curve_secret"])
        directory = load_directory(os.path.join(base, config["directory"]),
                                   bytes.fromhex(config["authority_key"]))
        self.agencies = {a["id"]: a for a in directory["agency"]}
        self.broker_sign_key = bytes.fromhex(directory["broker"]["sign_key"])
        # The audit log's origin (PROTOCOL.md 10): from the directory's log_vkey, else the default.
        vkey = directory["broker"].get("log_vkey")
        self.log_origin = (vkey.split("+")[0] if vkey else
                           directory["broker"]["id"].lower() + "/audit/v1")
        endpoint = open(os.path.join(base, config["broker_endpoint_file"])).read().strip()

        self.socket = zmq.Context.instance().socket(zmq.DEALER)
        self.socket.setsockopt(zmq.LINGER, 2000)  # close() waits for the last frame to leave
        # libzmq takes CURVE keys as 32 raw bytes (or Z85 text).
        self.socket.setsockopt(zmq.CURVE_SERVERKEY, bytes.fromhex(directory["broker"]["curve_key"]))
        self.socket.setsockopt(zmq.CURVE_SECRETKEY, curve_secret)
        self.socket.setsockopt(zmq.CURVE_PUBLICKEY, bytes(PrivateKey(curve_secret).public_key))
        self.socket.connect(endpoint)
        self.socket.send_multipart([b"HELLO"])
        # PROTOCOL.md 7: the sender epoch key, in memory only. This process lives for one message,
        # so it is this process's only epoch; a long-lived sender replaces it every hour.
        self.epoch = PrivateKey.generate()
        self.shared = {}  # recipient box key -> shared key, for this epoch

    def recv(self):
        if not self.socket.poll(self.timeout_s * 1000):
            fail("no answer from the broker")
        return self.socket.recv_multipart()

    # PROTOCOL.md sections 5 to 7.
    def seal(self, to, kind, payload):
        message_id, case_ref = secrets.token_bytes(16), secrets.token_bytes(16)
        nonce, content_key = secrets.token_bytes(24), secrets.token_bytes(32)

        b = flatbuffers.Builder(256)
        sender = b.CreateString(self.id)
        recipient = b.CreateString(to)
        Header.StartRecipientsVector(b, 1)
        b.PrependUOffsetTRelative(recipient)
        recipients = b.EndVector()
        mid, cref = b.CreateByteVector(message_id), b.CreateByteVector(case_ref)
        # PROTOCOL.md 5 and 10: Header.previous, 16 bytes per recipient; zeros: this is the
        # first step of this sender on the case to that recipient.
        previous = b.CreateByteVector(bytes(16))
        Header.Start(b)
        Header.AddVersion(b, WIRE_VERSION)  # stored: the schema's default is 1
        Header.AddMessageId(b, mid)
        Header.AddSender(b, sender)
        Header.AddRecipients(b, recipients)
        Header.AddKind(b, kind)
        Header.AddCaseRef(b, cref)
        Header.AddHandling(b, 1)  # H1
        Header.AddCreatedAtMs(b, int(time.time() * 1000))
        Header.AddPrevious(b, previous)
        b.Finish(Header.End(b))
        header = bytes(b.Output())

        ciphertext = crypto_aead_xchacha20poly1305_ietf_encrypt(payload, header, nonce,
                                                                content_key)
        box_key = bytes.fromhex(self.agencies[to]["box_key"])
        if box_key not in self.shared:
            self.shared[box_key] = crypto_box_beforenm(box_key, bytes(self.epoch))
        wrap_nonce = secrets.token_bytes(24)
        wrapped = wrap_nonce + crypto_box_afternm(content_key, wrap_nonce, self.shared[box_key])
        assert len(wrapped) == 72

        b = flatbuffers.Builder(len(ciphertext) + 512)
        rid, wk = b.CreateString(to), b.CreateByteVector(wrapped)
        WrappedKey.Start(b)
        WrappedKey.AddRecipient(b, rid)
        WrappedKey.AddWrapped(b, wk)
        key = WrappedKey.End(b)
        Body.StartKeysVector(b, 1)
        b.PrependUOffsetTRelative(key)
        keys = b.EndVector()
        nonce_v, ct = b.CreateByteVector(nonce), b.CreateByteVector(ciphertext)
        epoch_v = b.CreateByteVector(bytes(self.epoch.public_key))
        header_v = nested_bytes(b, header)
        Body.Start(b)
        Body.AddHeader(b, header_v)
        Body.AddKeys(b, keys)
        Body.AddNonce(b, nonce_v)
        Body.AddCiphertext(b, ct)
        Body.AddEpochKey(b, epoch_v)
        b.Finish(Body.End(b))
        body = bytes(b.Output())

        signature = SigningKey(self.sign_secret[:32]).sign(b"nrm/envelope/v1\x00" + body).signature
        b = flatbuffers.Builder(len(body) + 256)
        sig = b.CreateByteVector(signature)
        body_v = nested_bytes(b, body)
        Envelope.Start(b)
        Envelope.AddBody(b, body_v)
        Envelope.AddSignature(b, sig)
        b.Finish(Envelope.End(b))
        return message_id, bytes(b.Output())

    def send(self, to, name):
        b = flatbuffers.Builder(128)
        first = b.CreateString(name)
        PersonSection.Start(b)
        PersonSection.AddFirstName(b, first)
        person = PersonSection.End(b)
        Payload.Start(b)
        Payload.AddPerson(b, person)
        b.Finish(Payload.End(b))
        message_id, frame = self.seal(to, 1, bytes(b.Output()))  # kind 1: referral_offer
        self.socket.send_multipart([b"SEND", frame])
        while True:
            frames = self.recv()
            if frames[0] == b"WELCOME":
                continue
            if frames[0] == b"REFUSED":
                fail("refused: " + b" ".join(frames[2:]).decode())
            if frames[0] == b"ACCEPTED" and frames[1] == message_id:
                break
        # The receipt (PROTOCOL.md 10): leaf index and a C2SP checkpoint signed by the broker.
        leaf = struct.unpack(">Q", frames[2])[0]
        size = self.check_checkpoint(frames[3].decode())
        if leaf >= size:
            fail("receipt names a leaf past its tree")
        print("accepted " + message_id.hex())

    # A signed note (c2sp.org/signed-note@v1.0.0) holding a checkpoint
    # (c2sp.org/tlog-checkpoint@v1.0.0): the log's Ed25519 signature must verify. Returns its size.
    def check_checkpoint(self, note):
        text, _, signatures = note.rpartition("\n\n")
        text += "\n"
        origin, size, root = text.split("\n")[:3]
        if origin != self.log_origin or size != str(int(size)) or len(base64.b64decode(root)) != 32:
            fail("the receipt's checkpoint is not one of the broker's log")
        key_id = hashlib.sha256(origin.encode() + b"\n\x01" + self.broker_sign_key).digest()[:4]
        for line in signatures.splitlines():
            name, blob = line.removeprefix("\u2014 ").split(" ")
            blob = base64.b64decode(blob)
            if name == origin and blob[:4] == key_id:
                try:
                    VerifyKey(self.broker_sign_key).verify(text.encode(), blob[4:])
                except BadSignatureError:
                    fail("the receipt's checkpoint signature does not verify")
                return int(size)
        fail("the receipt's checkpoint is not signed by the broker's log key")

    # PROTOCOL.md section 8.
    def receive(self):
        while True:
            frames = self.recv()
            if frames[0] == b"DELIVER":
                break
        frame = frames[1]
        envelope = Envelope.Envelope.GetRootAs(frame, 0)
        body = bytes(envelope.Body(i) for i in range(envelope.BodyLength()))
        signature = bytes(envelope.Signature(i) for i in range(envelope.SignatureLength()))
        b = Body.Body.GetRootAs(body, 0)
        header = bytes(b.Header(i) for i in range(b.HeaderLength()))
        h = Header.Header.GetRootAs(header, 0)
        if h.Version() != WIRE_VERSION:
            fail("wire version %d (expected %d)" % (h.Version(), WIRE_VERSION))
        sender = h.Sender().decode()
        VerifyKey(bytes.fromhex(self.agencies[sender]["sign_key"])).verify(
            b"nrm/envelope/v1\x00" + body, signature)
        for i in range(b.KeysLength()):
            k = b.Keys(i)
            if k.Recipient().decode() == self.id:
                wrapped = bytes(k.Wrapped(j) for j in range(k.WrappedLength()))
                break
        else:
            fail("not a recipient")
        epoch_key = bytes(b.EpochKey(i) for i in range(b.EpochKeyLength()))
        if len(wrapped) != 72 or len(epoch_key) != 32:
            fail("wrapped key or epoch key has the wrong size")
        shared = crypto_box_beforenm(epoch_key, self.box_secret)
        content_key = crypto_box_open_afternm(wrapped[24:], wrapped[:24], shared)
        nonce = bytes(b.Nonce(i) for i in range(b.NonceLength()))
        ciphertext = bytes(b.Ciphertext(i) for i in range(b.CiphertextLength()))
        payload = crypto_aead_xchacha20poly1305_ietf_decrypt(ciphertext, header, nonce,
                                                             content_key)
        person = Payload.Payload.GetRootAs(payload, 0).Person()
        message_id = bytes(h.MessageId(i) for i in range(h.MessageIdLength()))
        self.socket.send_multipart([b"ACK", message_id])
        name = person.FirstName().decode() if person is not None else ""
        print("received kind %d from %s first_name=%s" % (h.Kind(), sender, name))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--gen", required=True, help="flatc --python output directory")
    parser.add_argument("--config", required=True)
    parser.add_argument("command", choices=["send", "receive"])
    parser.add_argument("--to")
    parser.add_argument("--name")
    parser.add_argument("--timeout", type=int, default=10, help="seconds to wait for the broker")
    args = parser.parse_args()
    agent = Agent(args.config, args.gen, args.timeout)
    if args.command == "send":
        agent.send(args.to, args.name)
    else:
        agent.receive()
    agent.socket.close()


if __name__ == "__main__":
    main()
