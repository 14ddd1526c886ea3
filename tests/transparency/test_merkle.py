"""Known-answer and exhaustive tests of the RFC 9162 Merkle tree code in
announcements/transparency/merkle.py."""

from __future__ import annotations

import hashlib

import pytest

from announcements.transparency import merkle

# The Certificate Transparency reference leaves and their tree heads (the RFC 6962 test vectors
# shipped with the CT reference implementations; RFC 9162 keeps the same hashing).
CT_LEAVES = [bytes.fromhex(h) for h in (
    "", "00", "10", "2021", "3031", "40414243", "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
)]
CT_ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
CT_INCLUSION = {
    (0, 8): ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
             "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
             "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"],
    (5, 8): ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
             "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
             "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"],
}
CT_CONSISTENCY = {
    (2, 8): ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
             "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"],
    (6, 8): ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
             "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
             "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"],
}
CT_HASHES = [merkle.leaf_hash(leaf) for leaf in CT_LEAVES]


def sha(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


# --- Hand-computed trees, written out from the RFC 9162 §2.1.1 definitions ---------------

A, B, C, D, E = (b"a", b"b", b"c", b"d", b"e")
HA, HB, HC, HD, HE = (sha(b"\x00" + x) for x in (A, B, C, D, E))
HAB = sha(b"\x01" + HA + HB)
HCD = sha(b"\x01" + HC + HD)
HABCD = sha(b"\x01" + HAB + HCD)


def test_leaf_and_node_hashes_use_the_domain_separation_prefixes():
    assert merkle.leaf_hash(A) == HA
    assert merkle.node_hash(HA, HB) == HAB
    assert merkle.node_hash(HA, HB) != merkle.node_hash(HB, HA)
    # A leaf can never be confused with a node: same bytes, different prefix.
    assert merkle.leaf_hash(HA + HB) != HAB


def test_hand_computed_roots_of_small_trees():
    hashes = [merkle.leaf_hash(x) for x in (A, B, C, D, E)]
    assert merkle.root_hash([]) == sha(b"")
    assert merkle.root_hash(hashes[:1]) == HA
    assert merkle.root_hash(hashes[:2]) == HAB
    # Three leaves: k = 2, so the left subtree is complete and c hangs alone on the right.
    assert merkle.root_hash(hashes[:3]) == sha(b"\x01" + HAB + HC)
    assert merkle.root_hash(hashes[:4]) == HABCD
    # Five leaves: k = 4 (not the midpoint), e alone on the right.
    assert merkle.root_hash(hashes) == sha(b"\x01" + HABCD + HE)


def test_hand_computed_proofs_of_a_five_leaf_tree():
    hashes = [merkle.leaf_hash(x) for x in (A, B, C, D, E)]
    assert merkle.inclusion_proof(0, hashes) == [HB, HCD, HE]
    assert merkle.inclusion_proof(2, hashes) == [HD, HAB, HE]
    assert merkle.inclusion_proof(4, hashes) == [HABCD]
    # From 3 leaves to 5: c, d, ab — then e to rebuild the new root.
    assert merkle.consistency_proof(3, hashes) == [HC, HD, HAB, HE]
    # From a complete subtree (4) the old root is left out of the proof.
    assert merkle.consistency_proof(4, hashes) == [HE]
    assert merkle.consistency_proof(2, hashes) == [HCD, HE]


def test_reference_roots_for_sizes_zero_to_eight():
    for size, expected in enumerate(CT_ROOTS):
        assert merkle.root_hash(CT_HASHES[:size]).hex() == expected, size


@pytest.mark.parametrize(("index", "size"), sorted(CT_INCLUSION))
def test_reference_inclusion_proofs(index, size):
    proof = merkle.inclusion_proof(index, CT_HASHES[:size])
    assert [p.hex() for p in proof] == CT_INCLUSION[(index, size)]
    merkle.verify_inclusion(CT_HASHES[index], index, size, proof, bytes.fromhex(CT_ROOTS[size]))


@pytest.mark.parametrize(("first", "second"), sorted(CT_CONSISTENCY))
def test_reference_consistency_proofs(first, second):
    proof = merkle.consistency_proof(first, CT_HASHES[:second])
    assert [p.hex() for p in proof] == CT_CONSISTENCY[(first, second)]
    merkle.verify_consistency(
        first, second, bytes.fromhex(CT_ROOTS[first]), bytes.fromhex(CT_ROOTS[second]), proof
    )


# --- Every size up to 64 ----------------------------------------------------------------

N = 64
LEAVES = [merkle.leaf_hash(f"entri-{i}".encode()) for i in range(N)]
ROOTS = [merkle.root_hash(LEAVES[:n]) for n in range(N + 1)]
JUNK = b"\xab" * 32


def _mutations(proof: list[bytes]):
    """Every way a proof could be bent: a flipped bit, a swap, one hash short, one too many."""
    for i in range(len(proof)):
        bent = list(proof)
        bent[i] = bytes([bent[i][0] ^ 1]) + bent[i][1:]
        yield f"flip {i}", bent
    if len(proof) >= 2 and proof[0] != proof[1]:
        yield "swap", [proof[1], proof[0], *proof[2:]]
    if proof:
        yield "short", proof[:-1]
    yield "long", [*proof, JUNK]


def test_every_inclusion_proof_up_to_64_verifies_and_no_bent_one_does():
    checked = 0
    for n in range(1, N + 1):
        for i in range(n):
            proof = merkle.inclusion_proof(i, LEAVES[:n])
            merkle.verify_inclusion(LEAVES[i], i, n, proof, ROOTS[n])
            checked += 1
            for what, bent in _mutations(proof):
                with pytest.raises(merkle.ProofError):
                    merkle.verify_inclusion(LEAVES[i], i, n, bent, ROOTS[n])
                    pytest.fail(f"{what} proof for {i}/{n} verified")
            # The proof must not prove some other leaf, nor the same leaf at another index.
            with pytest.raises(merkle.ProofError):
                merkle.verify_inclusion(JUNK, i, n, proof, ROOTS[n])
            if n > 1:
                with pytest.raises(merkle.ProofError):
                    merkle.verify_inclusion(LEAVES[i], (i + 1) % n, n, proof, ROOTS[n])
    assert checked == N * (N + 1) // 2


def test_every_consistency_proof_up_to_64_verifies_and_no_bent_one_does():
    for second in range(N + 1):
        for first in range(second + 1):
            proof = merkle.consistency_proof(first, LEAVES[:second])
            merkle.verify_consistency(first, second, ROOTS[first], ROOTS[second], proof)
            if first in (0, second):
                continue
            for what, bent in _mutations(proof):
                with pytest.raises(merkle.ProofError):
                    merkle.verify_consistency(first, second, ROOTS[first], ROOTS[second], bent)
                    pytest.fail(f"{what} proof {first}->{second} verified")
            with pytest.raises(merkle.ProofError):
                merkle.verify_consistency(first, second, JUNK, ROOTS[second], proof)
            with pytest.raises(merkle.ProofError):
                merkle.verify_consistency(first, second, ROOTS[first], JUNK, proof)


def test_a_rewritten_history_is_not_consistent():
    """The point of the log: change one old leaf and no proof links the two trees."""
    rewritten = list(LEAVES[:40])
    rewritten[7] = merkle.leaf_hash(b"versi yang diubah")
    new_root = merkle.root_hash(rewritten)
    proof = merkle.consistency_proof(20, rewritten)
    with pytest.raises(merkle.ProofError):
        merkle.verify_consistency(20, 40, ROOTS[20], new_root, proof)
    # …while an honest history of the same size is.
    merkle.verify_consistency(
        20, 40, ROOTS[20], ROOTS[40], merkle.consistency_proof(20, LEAVES[:40])
    )


def test_degenerate_cases():
    merkle.verify_consistency(4, 4, ROOTS[4], ROOTS[4], [])
    with pytest.raises(merkle.ProofError):
        merkle.verify_consistency(4, 4, ROOTS[4], ROOTS[5], [])
    with pytest.raises(merkle.ProofError):
        merkle.verify_consistency(4, 4, ROOTS[4], ROOTS[4], [JUNK])
    merkle.verify_consistency(0, 8, merkle.EMPTY_ROOT, ROOTS[8], [])
    with pytest.raises(merkle.ProofError):
        merkle.verify_consistency(0, 8, merkle.EMPTY_ROOT, ROOTS[8], [JUNK])
    with pytest.raises(merkle.ProofError):
        merkle.verify_consistency(6, 8, ROOTS[6], ROOTS[8], [])
    with pytest.raises(merkle.ProofError):
        merkle.verify_consistency(8, 6, ROOTS[8], ROOTS[6], [JUNK])
    for index, size in ((8, 8), (-1, 8), (0, 0)):
        with pytest.raises(merkle.ProofError):
            merkle.verify_inclusion(LEAVES[0], index, size, [], ROOTS[8])
    with pytest.raises(merkle.ProofError):
        merkle.inclusion_proof(8, LEAVES[:8])
    with pytest.raises(merkle.ProofError):
        merkle.consistency_proof(9, LEAVES[:8])


# --- Compact ranges: the O(log n) append the server uses --------------------------------------


def test_appending_one_leaf_at_a_time_gives_the_roots_of_the_full_computation():
    nodes: list[bytes] = []
    assert merkle.range_root(nodes) == merkle.EMPTY_ROOT
    for size, leaf in enumerate(CT_HASHES):
        nodes = merkle.range_append(nodes, size, leaf)
        assert merkle.range_root(nodes).hex() == CT_ROOTS[size + 1]
    nodes = []
    for size in range(300):
        leaf = merkle.leaf_hash(size.to_bytes(2, "big"))
        nodes = merkle.range_append(nodes, size, leaf)
        # At most one hash per binary digit of the size: never the leaves themselves.
        assert len(nodes) == (size + 1).bit_count()
        if size < 70 or size in (127, 255, 299):
            hashes = [merkle.leaf_hash(i.to_bytes(2, "big")) for i in range(size + 1)]
            assert nodes == merkle.compact_range(hashes)
            assert merkle.range_root(nodes) == merkle.root_hash(hashes)
    assert merkle.unpack_range(merkle.pack_range(nodes)) == nodes


def test_a_compact_range_of_the_wrong_length_is_refused():
    with pytest.raises(merkle.ProofError):
        merkle.range_append([HAB], 3, HD)  # size 3 is two subtrees (2 + 1 leaves), not one
    with pytest.raises(merkle.ProofError):
        merkle.unpack_range(HA + b"x")
