using System.Text.Json;
using Pipeline.Models.Lora;

namespace Pipeline.Host.Http;

/// <summary>
/// vLLM's runtime adapter routes, mapped only when VLLM_ALLOW_RUNTIME_LORA_UPDATING is set:
/// POST /v1/load_lora_adapter {lora_name, lora_path} and POST /v1/unload_lora_adapter {lora_name}.
/// A bad adapter is refused with 400 and the reason; the server keeps serving.
/// </summary>
public static class LoraEndpoints
{
    public static void Map(WebApplication app, Func<ServerContext> ready)
    {
        app.MapPost("/v1/load_lora_adapter", async http =>
        {
            var s = ready();
            var body = await ApiServer.Body(http);
            string name = Field(body, "lora_name"), path = Field(body, "lora_path");
            try { s.Models.Load(name, path); }
            catch (LoRAException e) { throw ApiError.BadRequest(e.Message, e.Message.Contains("already been loaded") ? "lora_name" : "lora_path"); }
            app.Logger.LogInformation("loaded LoRA adapter '{Name}' from {Path}", name, path);
            http.Response.ContentType = "text/plain; charset=utf-8";
            await http.Response.WriteAsync($"Success: LoRA adapter '{name}' added successfully.");
        });
        app.MapPost("/v1/unload_lora_adapter", async http =>
        {
            var s = ready();
            var body = await ApiServer.Body(http);
            string name = Field(body, "lora_name");
            if (!s.Models.Unload(name)) throw new ApiError(404, $"The lora adapter '{name}' cannot be found.", "lora_name", "NotFoundError");
            app.Logger.LogInformation("unloaded LoRA adapter '{Name}'", name);
            http.Response.ContentType = "text/plain; charset=utf-8";
            await http.Response.WriteAsync($"Success: LoRA adapter '{name}' removed successfully.");
        });
    }

    static string Field(JsonElement body, string name)
    {
        if (body.ValueKind != JsonValueKind.Object) throw ApiError.BadRequest("the body must be a JSON object");
        return body.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String && !string.IsNullOrWhiteSpace(v.GetString())
            ? v.GetString()! : throw ApiError.BadRequest($"{name} is required (a non-empty string)", name);
    }
}
