#!/usr/bin/env python3
"""Loads a Recurrent char-LM directory into PyTorch and samples greedily, to show weights move unchanged.

    /usr/bin/python3 tests/interop/torch_greedy_sample.py MODEL_DIR "ROMEO:" 150 > torch.txt
    recurrent sample --model MODEL_DIR --prime "ROMEO:" --length 150 --temperature 0 > ours.txt
    diff torch.txt ours.txt        # identical

Needs torch and numpy (not the safetensors package: the file format is read here). LSTM models only.
"""
import json
import struct
import sys

import numpy as np
import torch
import torch.nn as nn


def load_safetensors(path):
    data = open(path, "rb").read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    dtypes = {"F32": np.float32, "I64": np.int64, "I32": np.int32}
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        begin, end = entry["data_offsets"]
        array = np.frombuffer(data[8 + n + begin:8 + n + end], dtype=dtypes[entry["dtype"]])
        tensors[name] = torch.from_numpy(array.reshape(entry["shape"]).copy())
    return tensors


def main(model_dir, prime, length):
    config = json.load(open(model_dir + "/config.json"))
    V, E, H, L = config["vocab_size"], config["embedding_size"], config["hidden_size"], config["num_layers"]

    class CharLM(nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = nn.Embedding(V, E)
            self.lstm = nn.LSTM(E, H, num_layers=L)
            self.head = nn.Linear(H, V)

    model = CharLM()
    model.load_state_dict(load_safetensors(model_dir + "/weights.safetensors"), strict=True)
    model.eval()
    vocabulary = config["vocabulary"]
    text = prime
    with torch.no_grad():
        y, state = model.lstm(model.embedding(torch.tensor([[vocabulary.index(c)] for c in prime])))
        for _ in range(length):
            c = int(model.head(y[-1, 0]).argmax())
            text += vocabulary[c]
            y, state = model.lstm(model.embedding(torch.tensor([[c]])), state)
    print(text)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
