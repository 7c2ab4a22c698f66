using System.Buffers;
using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Pipeline.Actors.Engine;

/// <summary>
/// Chained block hashing for prefix caching: hash(parent hash, the block's token ids, extra keys), SHA-256
/// truncated to 128 bits. Extra keys: the LoRA id (every block), the cache salt (first block only; the chain
/// carries it on), the hashes of multimodal inputs overlapping the block and, for each bidirectional range overlapping
/// the block, the hash of the whole range's content: a block's KV then depends on later tokens of its range
/// (PaliGemma's prompt), so two prompts share it only if the whole range is equal.
/// </summary>
public static class BlockHasher
{
    /// <summary>Extends <paramref name="request"/>'s hashes to cover all its full blocks.</summary>
    public static void UpdateBlockHashes(Request request, int blockSize)
    {
        var hashes = request.BlockHashes;
        if (request.BlockHashesBlockSize != blockSize)
        {
            hashes.Clear();
            request.BlockHashesBlockSize = blockSize;
        }
        var tokens = request.AllTokenIds;
        while ((hashes.Count + 1) * blockSize <= tokens.Count)
        {
            int index = hashes.Count;
            BlockHash? parent = index == 0 ? null : hashes[index - 1];
            hashes.Add(HashBlock(parent, tokens, index * blockSize, blockSize, ExtraKeys(request, index, blockSize)));
        }
    }

    /// <summary>Serialized extra keys of block <paramref name="blockIndex"/>; empty when there are none.</summary>
    public static byte[] ExtraKeys(Request request, int blockIndex, int blockSize)
    {
        if (request.LoraId is null && request.CacheSalt is null && request.MultiModalFeatures.Count == 0 && request.BidirectionalRanges.Count == 0)
            return Array.Empty<byte>();
        int start = blockIndex * blockSize, end = start + blockSize;
        var buf = new ArrayBufferWriter<byte>();
        if (request.LoraId is int lora)
        {
            Write(buf, (byte)'L');
            WriteInt(buf, lora);
        }
        if (blockIndex == 0 && request.CacheSalt is string salt)
        {
            Write(buf, (byte)'S');
            WriteString(buf, salt);
        }
        foreach (var mm in request.MultiModalFeatures)
        {
            if (mm.Offset < end && mm.Offset + mm.Length > start)
            {
                Write(buf, (byte)'M');
                WriteString(buf, mm.Hash);
            }
        }
        var ranges = request.BidirectionalRanges;
        for (int i = 0; i < ranges.Count; i++)
        {
            if (ranges[i].Start >= end || ranges[i].End <= start) continue;
            request.BidirectionalRangeKeys ??= ranges.Select(r => RangeKey(request, r)).ToArray();
            Write(buf, (byte)'B');
            WriteString(buf, request.BidirectionalRangeKeys[i]);
        }
        return buf.WrittenSpan.ToArray();
    }

    /// <summary>SHA-256 of a range's bounds, its prompt tokens and the hashes of the images overlapping it.</summary>
    static string RangeKey(Request request, Pipeline.Models.Forward.PositionRange range)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var four = new byte[4];
        void Int(int v) { BinaryPrimitives.WriteInt32LittleEndian(four, v); sha.AppendData(four); }
        Int(range.Start);
        Int(range.Length);
        for (int p = range.Start; p < range.End && p < request.NumPromptTokens; p++) Int(request.PromptTokenIds[p]);
        foreach (var mm in request.MultiModalFeatures)
            if (mm.Offset < range.End && mm.Offset + mm.Length > range.Start) sha.AppendData(Encoding.UTF8.GetBytes(mm.Hash));
        return Convert.ToHexString(sha.GetHashAndReset());
    }

    public static BlockHash HashBlock(BlockHash? parent, IReadOnlyList<int> tokens, int start, int count, ReadOnlySpan<byte> extraKeys)
    {
        int len = 1 + 16 + 4 + count * 4 + 4 + extraKeys.Length;
        byte[]? rented = null;
        Span<byte> data = len <= 1024 ? stackalloc byte[len] : (rented = ArrayPool<byte>.Shared.Rent(len)).AsSpan(0, len);
        int p = 0;
        data[p++] = parent.HasValue ? (byte)1 : (byte)0;
        BinaryPrimitives.WriteUInt64LittleEndian(data[p..], parent?.Hi ?? 0); p += 8;
        BinaryPrimitives.WriteUInt64LittleEndian(data[p..], parent?.Lo ?? 0); p += 8;
        BinaryPrimitives.WriteInt32LittleEndian(data[p..], count); p += 4;
        for (int i = 0; i < count; i++, p += 4) BinaryPrimitives.WriteInt32LittleEndian(data[p..], tokens[start + i]);
        BinaryPrimitives.WriteInt32LittleEndian(data[p..], extraKeys.Length); p += 4;
        extraKeys.CopyTo(data[p..]);
        Span<byte> digest = stackalloc byte[32];
        SHA256.HashData(data, digest);
        if (rented != null) ArrayPool<byte>.Shared.Return(rented);
        return new BlockHash(BinaryPrimitives.ReadUInt64LittleEndian(digest), BinaryPrimitives.ReadUInt64LittleEndian(digest[8..]));
    }

    static void Write(ArrayBufferWriter<byte> buf, byte b)
    {
        buf.GetSpan(1)[0] = b;
        buf.Advance(1);
    }

    static void WriteInt(ArrayBufferWriter<byte> buf, int v)
    {
        BinaryPrimitives.WriteInt32LittleEndian(buf.GetSpan(4), v);
        buf.Advance(4);
    }

    static void WriteString(ArrayBufferWriter<byte> buf, string s)
    {
        var bytes = Encoding.UTF8.GetBytes(s);
        WriteInt(buf, bytes.Length);
        bytes.CopyTo(buf.GetSpan(bytes.Length));
        buf.Advance(bytes.Length);
    }
}
