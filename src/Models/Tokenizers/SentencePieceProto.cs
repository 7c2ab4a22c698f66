namespace Pipeline.Models.Tokenizers;

/// <summary>
/// The few trainer_spec fields of a SentencePiece ModelProto we need before Microsoft.ML.Tokenizers reads it:
/// model_type (3), unk_id (40), bos_id (41), eos_id (42), pad_id (43); and a patch of them.
/// </summary>
internal static class SentencePieceProto
{
    public const int UnkIdField = 40, BosIdField = 41, EosIdField = 42, PadIdField = 43;

    /// <summary>trainer_spec's fields with the proto's defaults (Unigram, unk 0, bos 1, eos 2, pad -1).</summary>
    public sealed record TrainerSpec(int ModelType, int UnkId, int BosId, int EosId, int PadId);

    /// <summary>1 Unigram, 2 BPE, 3 word, 4 char.</summary>
    public static int ModelType(ReadOnlySpan<byte> proto) => Read(proto).ModelType;

    public static TrainerSpec Read(ReadOnlySpan<byte> proto)
    {
        var values = new Dictionary<int, long> { [3] = 1, [UnkIdField] = 0, [BosIdField] = 1, [EosIdField] = 2, [PadIdField] = -1 };
        if (FindTrainerSpec(proto) is (int start, int length))
        {
            var spec = proto.Slice(start, length);
            int pos = 0;
            while (pos < spec.Length)
            {
                var (field, wire) = Key(spec, ref pos);
                if (wire == 0)
                {
                    long v = (long)Varint(spec, ref pos);
                    if (values.ContainsKey(field)) values[field] = (int)v;
                }
                else Skip(spec, ref pos, wire);
            }
        }
        return new TrainerSpec((int)values[3], (int)values[UnkIdField], (int)values[BosIdField], (int)values[EosIdField], (int)values[PadIdField]);
    }

    /// <summary>Every piece (field 1, each a message whose field 1 is the piece string), in id order.</summary>
    public static List<string> Pieces(ReadOnlySpan<byte> proto)
    {
        var pieces = new List<string>();
        int pos = 0;
        while (pos < proto.Length)
        {
            var (field, wire) = Key(proto, ref pos);
            if (field == 1 && wire == 2)
            {
                int len = (int)Varint(proto, ref pos);
                var message = proto.Slice(pos, len);
                pos += len;
                string piece = "";
                int p = 0;
                while (p < message.Length)
                {
                    var (f, w) = Key(message, ref p);
                    if (f == 1 && w == 2)
                    {
                        int l = (int)Varint(message, ref p);
                        piece = System.Text.Encoding.UTF8.GetString(message.Slice(p, l));
                        p += l;
                    }
                    else Skip(message, ref p, w);
                }
                pieces.Add(piece);
            }
            else Skip(proto, ref pos, wire);
        }
        return pieces;
    }

    /// <summary>
    /// The proto with BYTE pieces (type 6) retyped UNUSED (5): Microsoft.ML.Tokenizers 2.0.1's Unigram model finds the
    /// first byte piece's id only among pieces of the other types, and otherwise offsets every byte-fallback id.
    /// </summary>
    public static byte[] RetypeBytePieces(byte[] proto)
    {
        var output = new List<byte>(proto.Length + 1024);
        int pos = 0;
        var span = proto.AsSpan();
        while (pos < proto.Length)
        {
            int start = pos;
            var (field, wire) = Key(span, ref pos);
            if (field == 1 && wire == 2)
            {
                int len = (int)Varint(span, ref pos);
                var message = span.Slice(pos, len);
                pos += len;
                bool isByte = false;
                int p = 0;
                while (p < message.Length)
                {
                    var (f, w) = Key(message, ref p);
                    if (f == 3 && w == 0) isByte = Varint(message, ref p) == 6;
                    else Skip(message, ref p, w);
                }
                WriteVarint(output, (1 << 3) | 2);
                WriteVarint(output, (ulong)(len + (isByte ? 2 : 0)));
                output.AddRange(message.ToArray());
                if (isByte) { output.Add(3 << 3); output.Add(5); }
            }
            else
            {
                Skip(span, ref pos, wire);
                output.AddRange(span[start..pos].ToArray());
            }
        }
        return output.ToArray();
    }

    /// <summary>The proto with trainer_spec varint fields set (appended: in protobuf the last value of a field wins).</summary>
    public static byte[] Patch(byte[] proto, IReadOnlyDictionary<int, int> fields)
    {
        if (FindTrainerSpec(proto) is not (int start, int length)) return proto;
        var extra = new List<byte>();
        foreach (var (field, value) in fields)
        {
            WriteVarint(extra, (ulong)(field << 3));
            WriteVarint(extra, (ulong)(long)value);
        }
        // Rewind to the trainer_spec key: key and length varints precede its content.
        int keyStart = FindKeyStart(proto, start);
        var output = new List<byte>(proto.Length + extra.Count + 8);
        output.AddRange(proto.AsSpan(0, keyStart).ToArray());
        WriteVarint(output, (2 << 3) | 2);
        WriteVarint(output, (ulong)(length + extra.Count));
        output.AddRange(proto.AsSpan(start, length).ToArray());
        output.AddRange(extra);
        output.AddRange(proto.AsSpan(start + length).ToArray());
        return output.ToArray();
    }

    static int FindKeyStart(ReadOnlySpan<byte> proto, int contentStart)
    {
        int pos = 0;
        while (pos < proto.Length)
        {
            int keyStart = pos;
            var (field, wire) = Key(proto, ref pos);
            if (wire == 2)
            {
                int len = (int)Varint(proto, ref pos);
                if (pos == contentStart) return keyStart;
                pos += len;
            }
            else Skip(proto, ref pos, wire);
        }
        throw new FormatException("trainer_spec not found");
    }

    static (int Start, int Length)? FindTrainerSpec(ReadOnlySpan<byte> proto)
    {
        int pos = 0;
        while (pos < proto.Length)
        {
            var (field, wire) = Key(proto, ref pos);
            if (wire == 2)
            {
                int len = (int)Varint(proto, ref pos);
                if (field == 2) return (pos, len);
                pos += len;
            }
            else Skip(proto, ref pos, wire);
        }
        return null;
    }

    static (int Field, int Wire) Key(ReadOnlySpan<byte> data, ref int pos)
    {
        ulong key = Varint(data, ref pos);
        return ((int)(key >> 3), (int)(key & 7));
    }

    static void Skip(ReadOnlySpan<byte> data, ref int pos, int wire)
    {
        switch (wire)
        {
            case 0: Varint(data, ref pos); break;
            case 1: pos += 8; break;
            case 2:
                int len = (int)Varint(data, ref pos);
                pos += len;
                break;
            case 5: pos += 4; break;
            default: throw new FormatException($"unexpected protobuf wire type {wire}");
        }
    }

    static ulong Varint(ReadOnlySpan<byte> data, ref int pos)
    {
        ulong value = 0;
        for (int shift = 0; shift < 64; shift += 7)
        {
            byte b = data[pos++];
            value |= (ulong)(b & 0x7F) << shift;
            if ((b & 0x80) == 0) return value;
        }
        throw new FormatException("malformed protobuf varint");
    }

    static void WriteVarint(List<byte> output, ulong value)
    {
        while (value >= 0x80)
        {
            output.Add((byte)(value | 0x80));
            value >>= 7;
        }
        output.Add((byte)value);
    }
}
