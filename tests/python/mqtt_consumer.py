"""A third-party consumer of labsocket's federation topics, with paho-mqtt (MQTT 5).

Usage: mqtt_consumer.py PORT LAB HOST CODENAME

Subscribes to labsocket/v1/LAB/+/pt/+ and labsocket/v1/LAB/+/batch, and prints one JSON
line when it has both the retained pt/CODENAME of HOST and a batch of HOST carrying
CODENAME: {"pt": {...}, "batch": {...}}. Exits 0 then, 1 after 20 s without them.
"""

import json
import sys
import time

import paho.mqtt.client as mqtt

port, lab, host, codename = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
found = {}

client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)


def on_connect(client, userdata, flags, reason_code, properties):
    client.subscribe([(f"labsocket/v1/{lab}/+/pt/+", 1), (f"labsocket/v1/{lab}/+/batch", 1)])


def on_message(client, userdata, message):
    payload = json.loads(message.payload)
    if message.topic == f"labsocket/v1/{lab}/{host}/pt/{codename}" and message.retain:
        found["pt"] = payload
    elif message.topic == f"labsocket/v1/{lab}/{host}/batch" and any(
        point[0] == codename for point in payload["points"]
    ):
        found["batch"] = payload


client.on_connect = on_connect
client.on_message = on_message
client.connect("127.0.0.1", port)
client.loop_start()
deadline = time.monotonic() + 20
while time.monotonic() < deadline and len(found) < 2:
    time.sleep(0.02)
client.loop_stop()
print(json.dumps(found), flush=True)
sys.exit(0 if len(found) == 2 else 1)
