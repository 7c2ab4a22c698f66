using System.Text.Json.Nodes;

namespace Pipeline.Models.Multimodal;

/// <summary>
/// A Qwen2-VL or Qwen2.5-VL vision_config, read once. Qwen2-VL's blocks are <c>embed_dim</c> wide with LayerNorms and a
/// fc1/act/fc2 MLP of <c>mlp_ratio</c>, and its merger projects to <c>hidden_size</c>; Qwen2.5-VL's blocks are
/// <c>hidden_size</c> wide with RMSNorms and a gated MLP of <c>intermediate_size</c>, attend within windows of
/// <c>window_size</c> pixels except in <c>fullatt_block_indexes</c>, and its merger projects to <c>out_hidden_size</c>.
/// </summary>
public sealed record Qwen2VisionOptions(int Depth, int Width, int NumHeads, int IntermediateSize, int OutHiddenSize, string HiddenAct,
    int PatchSize, int TemporalPatchSize, int SpatialMergeSize, int InChannels, double RopeTheta, bool Qwen25,
    int WindowSize, int[] FullAttBlockIndexes)
{
    public int HeadDim => Width / NumHeads;
    /// <summary>Width of one row of pixel_values: C x temporal_patch_size x patch x patch.</summary>
    public int PatchInputSize => InChannels * TemporalPatchSize * PatchSize * PatchSize;
    /// <summary>Window side in merged tokens (transformers' vit_merger_window_size).</summary>
    public int MergedWindowSize => WindowSize / SpatialMergeSize / PatchSize;

    /// <param name="qwen25">Qwen2.5-VL's tower (window attention, RMSNorm, gated MLP) rather than Qwen2-VL's.</param>
    public static Qwen2VisionOptions From(JsonObject vision, bool qwen25)
    {
        int Int(string k, int d) => vision[k] is JsonValue v && v.TryGetValue<double>(out var x) ? (int)x : d;
        double theta = (vision["rope_parameters"] as JsonObject)?["rope_theta"] is JsonValue t && t.TryGetValue<double>(out var th) ? th : 10000.0;
        int inChannels = Int("in_channels", Int("in_chans", 3));
        if (qwen25)
        {
            int width = Int("hidden_size", 1280);
            int[] full = vision["fullatt_block_indexes"] is JsonArray a ? a.Select(x => (int)x!.GetValue<double>()).ToArray() : [7, 15, 23, 31];
            return new Qwen2VisionOptions(Int("depth", 32), width, Int("num_heads", 16), Int("intermediate_size", 3420), Int("out_hidden_size", 3584),
                vision["hidden_act"]?.GetValue<string>() ?? "silu", Int("patch_size", 14), Int("temporal_patch_size", 2), Int("spatial_merge_size", 2),
                inChannels, theta, true, Int("window_size", 112), full);
        }
        int embed = Int("embed_dim", 1280);
        return new Qwen2VisionOptions(Int("depth", 32), embed, Int("num_heads", 16), embed * Int("mlp_ratio", 4), Int("hidden_size", 3584),
            vision["hidden_act"]?.GetValue<string>() ?? "quick_gelu", Int("patch_size", 14), Int("temporal_patch_size", 2), Int("spatial_merge_size", 2),
            inChannels, theta, false, 0, []);
    }
}
