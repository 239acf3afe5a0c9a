namespace Skim.Models;

/// <summary>Describes the libtorch runtime this process has loaded.</summary>
public static class TorchRuntime
{
    /// <summary>Gets a one-line description: TorchSharp version, CUDA availability, thread count.</summary>
    public static string Describe()
    {
        var version = typeof(TorchSharp.torch).Assembly.GetName().Version;
        return $"TorchSharp {version}, CUDA {(TorchSharp.torch.cuda.is_available() ? "available" : "not available")}, {TorchSharp.torch.get_num_threads()} threads";
    }
}
