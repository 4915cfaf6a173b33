using Microsoft.Extensions.DependencyInjection;
using System.Collections.Frozen;
using System.Linq.Expressions;
using System.Reflection;

namespace BudgetGrains.Actors;

/// <summary>
/// The proxy behind every grain reference. It holds only the id and the runtime and looks the activation up on
/// each call, so it stays valid across deactivation and, later, placement on another silo.
/// </summary>
public class GrainReference : DispatchProxy
{
    private ActorRuntime? _runtime;
    private GrainRegistration? _registration;
    private InterfaceMetadata? _metadata;
    private GrainId _id;

    /// <summary>The id of the grain this reference addresses.</summary>
    public GrainId GrainId => _id;

    internal void Initialize(ActorRuntime runtime, GrainRegistration registration, InterfaceMetadata metadata, GrainId id)
    {
        _runtime = runtime;
        _registration = registration;
        _metadata = metadata;
        _id = id;
    }

    /// <summary>Enqueues the call as a turn of the target activation and returns the caller's task.</summary>
    protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
    {
        ArgumentNullException.ThrowIfNull(targetMethod);
        if (_metadata is null)
        {
            throw new InvalidOperationException("Grain references come from IGrainFactory.GetGrain.");
        }
        return _metadata.Invokers[targetMethod].Invoke(_runtime!, _registration!, _id, args);
    }

    /// <inheritdoc/>
    public override string ToString() => $"GrainReference({GrainId})";
}

/// <summary>Per-interface invokers, built once with compiled expression trees so a call never uses MethodInfo.Invoke.</summary>
internal sealed class InterfaceMetadata
{
    private InterfaceMetadata(FrozenDictionary<MethodInfo, MethodInvoker> invokers) => Invokers = invokers;

    public FrozenDictionary<MethodInfo, MethodInvoker> Invokers { get; }

    public static InterfaceMetadata Build(Type grainInterface)
    {
        var invokers = new Dictionary<MethodInfo, MethodInvoker>();
        var interfaces = grainInterface.GetInterfaces().Append(grainInterface);
        foreach (var method in interfaces.SelectMany(i => i.GetMethods()))
        {
            invokers[method] = MethodInvoker.Create(grainInterface, method);
        }
        return new InterfaceMetadata(invokers.ToFrozenDictionary());
    }
}

/// <summary>Turns one proxy call into a mailbox entry.</summary>
internal abstract class MethodInvoker
{
    public abstract object Invoke(ActorRuntime runtime, GrainRegistration registration, GrainId id, object?[]? args);

    public static MethodInvoker Create(Type grainInterface, MethodInfo method)
    {
        if (method.IsGenericMethodDefinition)
        {
            throw new NotSupportedException($"{grainInterface.Name}.{method.Name}: generic grain methods are not supported.");
        }
        if (method.GetParameters().Any(p => p.ParameterType.IsByRef))
        {
            throw new NotSupportedException($"{grainInterface.Name}.{method.Name}: ref/out parameters are not supported.");
        }
        Type returnType = method.ReturnType;
        if (returnType == typeof(Task))
        {
            return new VoidMethodInvoker(Compile<Func<object, object?[]?, Task>>(method));
        }
        if (returnType.IsGenericType && returnType.GetGenericTypeDefinition() == typeof(Task<>))
        {
            Type resultType = returnType.GetGenericArguments()[0];
            Type delegateType = typeof(Func<,,>).MakeGenericType(typeof(object), typeof(object?[]), returnType);
            object compiled = typeof(MethodInvoker).GetMethod(nameof(Compile), BindingFlags.NonPublic | BindingFlags.Static)!
                .MakeGenericMethod(delegateType).Invoke(null, [method])!;
            return (MethodInvoker)Activator.CreateInstance(typeof(ResultMethodInvoker<>).MakeGenericType(resultType), compiled)!;
        }
        throw new NotSupportedException($"{grainInterface.Name}.{method.Name}: grain methods must return Task or Task<T>, not {returnType.Name}.");
    }

    // (object grain, object?[] args) => ((TInterface)grain).Method((T0)args[0], ...)
    private static TDelegate Compile<TDelegate>(MethodInfo method) where TDelegate : Delegate
    {
        var grain = Expression.Parameter(typeof(object), "grain");
        var args = Expression.Parameter(typeof(object?[]), "args");
        var arguments = method.GetParameters().Select((p, i) =>
            Expression.Convert(Expression.ArrayIndex(args, Expression.Constant(i)), p.ParameterType));
        var call = Expression.Call(Expression.Convert(grain, method.DeclaringType!), method, arguments);
        return Expression.Lambda<TDelegate>(call, grain, args).Compile();
    }
}

internal sealed class VoidMethodInvoker(Func<object, object?[]?, Task> invoker) : MethodInvoker
{
    public override object Invoke(ActorRuntime runtime, GrainRegistration registration, GrainId id, object?[]? args)
    {
        var call = new VoidCall(invoker, args);
        runtime.Dispatch(id, registration, call);
        return call.Task;
    }
}

internal sealed class ResultMethodInvoker<T>(Func<object, object?[]?, Task<T>> invoker) : MethodInvoker
{
    public override object Invoke(ActorRuntime runtime, GrainRegistration registration, GrainId id, object?[]? args)
    {
        var call = new Call<T>(invoker, args);
        runtime.Dispatch(id, registration, call);
        return call.Task;
    }
}

/// <summary>What AddGrain recorded about a grain class.</summary>
internal sealed class GrainRegistration(string typeName, Type grainClass, TimeSpan idleTimeout, InterfaceMetadata metadata)
{
    public string TypeName { get; } = typeName;
    public Type GrainClass { get; } = grainClass;
    /// <summary>Built once: ActivatorUtilities.CreateInstance would reflect over the constructors at every activation.</summary>
    public ObjectFactory CreateGrain { get; } = ActivatorUtilities.CreateFactory(grainClass, Type.EmptyTypes);
    public TimeSpan IdleTimeout { get; } = idleTimeout;
    public InterfaceMetadata Metadata { get; } = metadata;
}
