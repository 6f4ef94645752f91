"""The Merkle tree (RFC 9162 section 2.1), pure: roots, inclusion and consistency proofs, the frontier."""

from __future__ import annotations

import hashlib

import pytest

from audit import merkle

# The test vectors of the Certificate Transparency reference implementation (RFC 6962 hashing).
CT_LEAVES = [bytes.fromhex(h) for h in ("", "00", "10", "2021", "3031", "40414243", "5051525354555657",
                                        "606162636465666768696a6b6c6d6e6f")]
CT_ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
SIZES = range(1, 34)


def leaves(n: int) -> list[bytes]:
    return [hashlib.sha256(str(i).encode()).digest() for i in range(n)]


def flipped(value: bytes) -> bytes:
    return bytes([value[0] ^ 1]) + value[1:]


def test_the_empty_tree():
    assert merkle.root([]) == hashlib.sha256(b"").digest() == merkle.Frontier().root()


@pytest.mark.parametrize("n", range(1, 9))
def test_roots_match_the_certificate_transparency_vectors(n):
    assert merkle.root(CT_LEAVES[:n]).hex() == CT_ROOTS[n - 1]


def test_leaves_and_nodes_are_domain_separated():
    a, b = b"a" * 32, b"b" * 32
    assert merkle.root([a, b]) != merkle.leaf_hash(a + b)
    assert merkle.root([merkle.leaf_hash(a) + merkle.leaf_hash(b)]) != merkle.root([a, b])


@pytest.mark.parametrize("n", SIZES)
def test_the_frontier_gives_the_root_at_every_size(n):
    frontier = merkle.Frontier()
    for i, item in enumerate(leaves(n), start=1):
        frontier.append(item)
        assert frontier.size == i and len(frontier.hashes) == i.bit_count()
    assert frontier.root() == merkle.root(leaves(n))
    again = merkle.Frontier.from_json(n, frontier.as_json())
    again.append(b"x")
    assert again.root() == merkle.root(leaves(n) + [b"x"])


def test_a_frontier_of_the_wrong_shape_is_refused():
    with pytest.raises(ValueError):
        merkle.Frontier.from_json(3, [bytes(32).hex()])


@pytest.mark.parametrize("n", SIZES)
def test_every_inclusion_proof_verifies_and_no_tampered_one_does(n):
    data = leaves(n)
    root = merkle.root(data)
    for index in range(n):
        proof = merkle.inclusion_proof(data, index)
        assert len(proof) <= max(1, (n - 1).bit_length())
        assert merkle.verify_inclusion(data[index], index, n, proof, root)
        assert not merkle.verify_inclusion(flipped(data[index]), index, n, proof, root)
        assert not merkle.verify_inclusion(data[index], index, n, proof, flipped(root))
        if n > 1:
            assert not merkle.verify_inclusion(data[index], (index + 1) % n, n, proof, root)
            assert not merkle.verify_inclusion(data[index], index, n, proof[:-1], root)
            assert not merkle.verify_inclusion(data[index], index, n, proof + [root], root)
        for k in range(len(proof)):
            tampered = list(proof)
            tampered[k] = flipped(tampered[k])
            assert not merkle.verify_inclusion(data[index], index, n, tampered, root)


def test_inclusion_outside_the_tree():
    with pytest.raises(ValueError):
        merkle.inclusion_proof(leaves(3), 3)
    assert not merkle.verify_inclusion(b"x", 3, 3, [], merkle.root(leaves(3)))
    assert not merkle.verify_inclusion(b"x", -1, 3, [], merkle.root(leaves(3)))


@pytest.mark.parametrize("n", SIZES)
def test_every_consistency_proof_verifies_and_no_tampered_one_does(n):
    data = leaves(n)
    new_root = merkle.root(data)
    for m in range(1, n + 1):
        old_root = merkle.root(data[:m])
        proof = merkle.consistency_proof(data, m)
        assert merkle.verify_consistency(m, n, old_root, new_root, proof)
        assert not merkle.verify_consistency(m, n, flipped(old_root), new_root, proof)
        assert not merkle.verify_consistency(m, n, old_root, flipped(new_root), proof)
        for k in range(len(proof)):
            tampered = list(proof)
            tampered[k] = flipped(tampered[k])
            assert not merkle.verify_consistency(m, n, old_root, new_root, tampered)
        if m < n:
            assert not merkle.verify_consistency(m, n, old_root, new_root, proof[:-1])


@pytest.mark.parametrize("n", [5, 8, 13])
def test_a_rewritten_history_is_not_consistent(n):
    data = leaves(n)
    for m in range(1, n):
        rewritten = list(data)
        rewritten[m - 1] = b"forged"
        proof = merkle.consistency_proof(rewritten, m)
        assert not merkle.verify_consistency(m, n, merkle.root(data[:m]), merkle.root(rewritten), proof)


def test_consistency_bounds():
    with pytest.raises(ValueError):
        merkle.consistency_proof(leaves(3), 0)
    with pytest.raises(ValueError):
        merkle.consistency_proof(leaves(3), 4)
    root = merkle.root(leaves(3))
    assert merkle.verify_consistency(3, 3, root, root, [])
    assert not merkle.verify_consistency(3, 3, root, root, [root])
    assert not merkle.verify_consistency(0, 3, root, root, [])
    assert not merkle.verify_consistency(4, 3, root, root, [root])
    assert not merkle.verify_consistency(2, 4, merkle.root(leaves(2)), merkle.root(leaves(4)), [])


@pytest.mark.parametrize("n", [1, 2, 3, 7, 8, 9, 16, 33])
def test_a_consistency_proof_from_the_old_frontier_and_the_later_leaves_is_the_same(n):
    data = leaves(n)
    for m in range(1, n + 1):
        old = merkle.Frontier()
        for item in data[:m]:
            old.append(item)
        assert merkle.consistency_proof_after(old, n, iter(data[m:])) == merkle.consistency_proof(data, m)
    with pytest.raises(ValueError):
        merkle.consistency_proof_after(old, n + 1, iter([]))
