using System.Text.Json.Nodes;

namespace Pipeline.Models.Pooling.Conversion;

/// <summary>
/// Maps the initializers of a PyTorch-exported ONNX BERT encoder to Hugging Face BertModel weights. Parameters the
/// exporter kept by name (embeddings, biases, LayerNorms, pooler) keep their names. Linear weights the exporter
/// folded into MatMul constants ([in, out], numeric names) are recognised by the Add that follows their MatMul:
/// its bias 'X.bias' names the weight 'X.weight', which is transposed to [out, in].
/// </summary>
public static class OnnxBertConverter
{
    public sealed record Result(IReadOnlyList<(string Name, long[] Shape, float[] Data)> Tensors, JsonObject Config);

    public static Result Convert(OnnxModel onnx, int numAttentionHeads, string hiddenAct = "gelu")
    {
        var tensors = new Dictionary<string, (long[] Shape, float[] Data)>(StringComparer.Ordinal);
        var consumers = onnx.Nodes.SelectMany(n => n.Inputs.Select(i => (Input: i, Node: n))).ToLookup(x => x.Input, x => x.Node);
        var mapped = new HashSet<string>();
        foreach (var node in onnx.Nodes.Where(n => n.OpType == "MatMul" && n.Inputs.Length == 2))
        {
            if (!onnx.Initializers.TryGetValue(node.Inputs[1], out var w) || w.Floats == null || w.Dims.Length != 2) continue;
            var add = consumers[node.Outputs[0]].FirstOrDefault(n => n.OpType == "Add")
                      ?? throw new InvalidDataException($"ONNX MatMul weight '{w.Name}' is not followed by a bias Add; cannot name it");
            var biasName = add.Inputs.FirstOrDefault(i => i != node.Outputs[0] && onnx.Initializers.ContainsKey(i) && i.EndsWith(".bias", StringComparison.Ordinal))
                           ?? throw new InvalidDataException($"the Add after ONNX MatMul weight '{w.Name}' has no named '.bias' initializer");
            var name = biasName[..^".bias".Length] + ".weight";
            if (!tensors.TryAdd(name, ([w.Dims[1], w.Dims[0]], Transpose(w.Floats, (int)w.Dims[0], (int)w.Dims[1]))))
                throw new InvalidDataException($"two ONNX MatMul weights map to '{name}'");
            mapped.Add(w.Name);
        }
        foreach (var t in onnx.Initializers.Values)
        {
            if (mapped.Contains(t.Name) || t.Floats == null) continue;
            if (IsHfName(t.Name))
            {
                if (!tensors.TryAdd(t.Name, (t.Dims, t.Floats))) throw new InvalidDataException($"ONNX initializer '{t.Name}' appears twice");
            }
            else if (t.Dims.Length >= 2)
                throw new InvalidDataException($"ONNX initializer '{t.Name}' [{string.Join(", ", t.Dims)}] could not be mapped to a Hugging Face weight name");
        }
        return new Result(tensors.Select(kv => (kv.Key, kv.Value.Shape, kv.Value.Data)).ToList(), InferConfig(tensors, numAttentionHeads, hiddenAct));
    }

    static bool IsHfName(string name) =>
        (name.StartsWith("embeddings.", StringComparison.Ordinal) || name.StartsWith("encoder.", StringComparison.Ordinal) || name.StartsWith("pooler.", StringComparison.Ordinal))
        && (name.EndsWith(".weight", StringComparison.Ordinal) || name.EndsWith(".bias", StringComparison.Ordinal));

    static JsonObject InferConfig(Dictionary<string, (long[] Shape, float[] Data)> t, int heads, string hiddenAct)
    {
        long[] S(string name) => t.TryGetValue(name, out var v) ? v.Shape : throw new InvalidDataException($"converted weights lack '{name}'");
        var word = S("embeddings.word_embeddings.weight");
        int layers = 0;
        while (t.ContainsKey($"encoder.layer.{layers}.attention.self.query.weight")) layers++;
        if (layers == 0) throw new InvalidDataException("no encoder layers found (encoder.layer.0.attention.self.query.weight)");
        for (int i = 0; i < layers; i++)
            foreach (var part in new[] { "attention.self.key", "attention.self.value", "attention.output.dense", "intermediate.dense", "output.dense" })
                S($"encoder.layer.{i}.{part}.weight");
        if (word[1] % heads != 0) throw new InvalidDataException($"hidden size {word[1]} is not a multiple of {heads} attention heads");
        return new JsonObject
        {
            ["architectures"] = new JsonArray("BertModel"),
            ["model_type"] = "bert",
            ["vocab_size"] = word[0],
            ["hidden_size"] = word[1],
            ["num_hidden_layers"] = layers,
            ["num_attention_heads"] = heads,
            ["intermediate_size"] = S("encoder.layer.0.intermediate.dense.weight")[0],
            ["hidden_act"] = hiddenAct,
            ["max_position_embeddings"] = S("embeddings.position_embeddings.weight")[0],
            ["type_vocab_size"] = S("embeddings.token_type_embeddings.weight")[0],
            ["layer_norm_eps"] = 1e-12,
            ["pad_token_id"] = 0,
            ["position_embedding_type"] = "absolute",
            ["hidden_dropout_prob"] = 0.1,
            ["attention_probs_dropout_prob"] = 0.1,
            ["initializer_range"] = 0.02,
            ["torch_dtype"] = "float32",
        };
    }

    static float[] Transpose(float[] a, int rows, int cols)
    {
        var r = new float[a.Length];
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < cols; j++)
                r[j * rows + i] = a[i * cols + j];
        return r;
    }
}
