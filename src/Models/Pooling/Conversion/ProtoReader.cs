using System.Text;

namespace Pipeline.Models.Pooling.Conversion;

/// <summary>A minimal protobuf wire-format reader: walks the fields of one message without a schema.</summary>
public ref struct ProtoReader(ReadOnlySpan<byte> data)
{
    readonly ReadOnlySpan<byte> _data = data;
    int _pos;

    public int Field { get; private set; }
    public int WireType { get; private set; }
    public ulong Varint { get; private set; }
    public ReadOnlySpan<byte> Bytes { get; private set; }

    /// <summary>Moves to the next field; false at the end of the message.</summary>
    public bool Next()
    {
        if (_pos >= _data.Length) return false;
        ulong key = ReadVarint();
        Field = (int)(key >> 3);
        WireType = (int)(key & 7);
        Bytes = default;
        switch (WireType)
        {
            case 0: Varint = ReadVarint(); break;
            case 1: Bytes = Take(8); break;
            case 2: Bytes = Take(checked((int)ReadVarint())); break;
            case 5: Bytes = Take(4); break;
            default: throw new InvalidDataException($"protobuf: unsupported wire type {WireType} for field {Field} at byte {_pos}");
        }
        return true;
    }

    public string String => Encoding.UTF8.GetString(Bytes);

    ReadOnlySpan<byte> Take(int n)
    {
        if (n < 0 || _pos + n > _data.Length) throw new InvalidDataException($"protobuf: field {Field} of {n} bytes runs past the end of its message");
        var s = _data.Slice(_pos, n);
        _pos += n;
        return s;
    }

    ulong ReadVarint()
    {
        ulong r = 0;
        for (int shift = 0; shift < 64; shift += 7)
        {
            if (_pos >= _data.Length) throw new InvalidDataException("protobuf: truncated varint");
            byte b = _data[_pos++];
            r |= (ulong)(b & 0x7f) << shift;
            if (b < 0x80) return r;
        }
        throw new InvalidDataException("protobuf: varint longer than 10 bytes");
    }

    /// <summary>Packed varints (wire type 2) or a single varint (wire type 0) of a repeated integer field.</summary>
    public static IEnumerable<long> PackedVarints(ReadOnlySpan<byte> packed)
    {
        var list = new List<long>();
        int pos = 0;
        while (pos < packed.Length)
        {
            ulong r = 0;
            for (int shift = 0; ; shift += 7)
            {
                byte b = packed[pos++];
                r |= (ulong)(b & 0x7f) << shift;
                if (b < 0x80) break;
            }
            list.Add((long)r);
        }
        return list;
    }
}
