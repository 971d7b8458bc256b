"""zoo.concurrency: the one place that sets threads and slots, and private random generators."""
import threading

import torch

from zoo import concurrency, registry


def test_configure_sizes_slots_and_threads():
    old_threads, old_slots = torch.get_num_threads(), concurrency.slots()
    try:
        assert concurrency.configure(slots=3, threads=1) == (3, 1)
        assert concurrency.slots() == 3 and torch.get_num_threads() == 1
    finally:
        concurrency.configure(slots=old_slots, threads=old_threads)


def test_seeded_builds_are_reproducible_and_leave_the_global_rng_alone():
    before = torch.random.get_rng_state()
    a = registry.get("resnet18").build("cpu", seed=5)
    b = registry.get("resnet18").build("cpu", seed=5)
    c = registry.get("resnet18").build("cpu", seed=6)
    assert torch.equal(torch.random.get_rng_state(), before)
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))
    assert not torch.equal(a.conv1.weight, c.conv1.weight)
    # He init for convolutions, identity norm layers
    fan_in = 3 * 7 * 7
    assert abs(float(a.conv1.weight.detach().std()) - (2 / fan_in) ** 0.5) < 0.01
    assert torch.equal(a.bn1.weight, torch.ones(64)) and torch.equal(a.bn1.running_var, torch.ones(64))


def test_concurrent_seeded_builds_agree():
    results = {}

    def build(i):
        results[i] = registry.get("mobilenet_v3_small").build("cpu", seed=1).classifier[-1].weight

    threads = [threading.Thread(target=build, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(torch.equal(results[0], w) for w in results.values())


def test_inference_slots_bound_concurrent_passes():
    old = concurrency.slots()
    concurrency.configure(slots=2, threads=torch.get_num_threads())
    try:
        inside, peak, lock = [0], [0], threading.Lock()
        gate = threading.Barrier(5)

        def work():
            gate.wait()
            with concurrency.inference_slot():
                with lock:
                    inside[0] += 1
                    peak[0] = max(peak[0], inside[0])
                threading.Event().wait(0.05)
                with lock:
                    inside[0] -= 1

        ts = [threading.Thread(target=work) for _ in range(5)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        assert peak[0] == 2
    finally:
        concurrency.configure(slots=old, threads=torch.get_num_threads())


def test_inference_slot_is_reentrant_within_a_thread():
    old = concurrency.slots()
    concurrency.configure(slots=1, threads=torch.get_num_threads())
    try:
        done = threading.Event()

        def nested():
            with concurrency.inference_slot():
                with concurrency.inference_slot():  # a forward pass inside a heavy action
                    done.set()

        t = threading.Thread(target=nested)
        t.start()
        t.join(5)
        assert done.is_set()
        with concurrency.inference_slot():  # and the slot was given back
            pass
    finally:
        concurrency.configure(slots=old, threads=torch.get_num_threads())


def test_decoding_and_preprocessing_wait_for_an_inference_slot():
    """N uploads at once take turns with the forward passes instead of adding up their pixels."""
    import io
    import threading

    from PIL import Image

    from zoo import concurrency, registry
    from zoo.inference.images import decode_image
    from zoo.inference.view import view

    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (10, 20, 30)).save(buf, "PNG")
    slots = concurrency.slots()
    done = []
    release = threading.Event()
    holders = []

    def hold():
        with concurrency.inference_slot():
            holders.append(1)
            release.wait(10)

    threads = [threading.Thread(target=hold) for _ in range(slots)]
    for t in threads:
        t.start()
    while len(holders) < slots:
        pass
    worker = threading.Thread(target=lambda: done.append(decode_image(buf.getvalue())))
    worker.start()
    worker.join(0.5)
    assert not done, "decoding ran while every slot was held"
    release.set()
    worker.join(10)
    for t in threads:
        t.join(10)
    assert done and done[0].size == (64, 48)
    # Inside a slot (a heavy action), decoding and preprocessing re-enter it instead of waiting for themselves.
    with concurrency.inference_slot():
        img = decode_image(buf.getvalue())
        assert view(registry.get("resnet18")).tensor(img).shape[-1] == 224
