"""An ELBv2 target group on moto's standalone server, for the deploy scripts."""

import uuid

import boto3

CREDENTIALS = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
               "AWS_DEFAULT_REGION": "us-east-1"}


def client(service: str, endpoint: str):
    return boto3.client(service, endpoint_url=endpoint, region_name="us-east-1",
                        aws_access_key_id="test", aws_secret_access_key="test")


def target_group(endpoint: str, ports: list[int]) -> tuple[str, str]:
    """An ALB with an IP target group holding 10.0.0.<n>:<port> for each port."""
    ec2, elbv2 = client("ec2", endpoint), client("elbv2", endpoint)
    name = f"moa-{uuid.uuid4().hex[:8]}"  # one moto server serves several tests
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{n}.0/24",
                                 AvailabilityZone=f"us-east-1{zone}")["Subnet"]["SubnetId"]
               for n, zone in ((1, "a"), (2, "b"))]
    balancer = elbv2.create_load_balancer(Name=name, Subnets=subnets,
                                          Type="application")["LoadBalancers"][0]
    group = elbv2.create_target_group(Name=name, Protocol="HTTP", Port=80, VpcId=vpc,
                                      TargetType="ip")["TargetGroups"][0]["TargetGroupArn"]
    elbv2.register_targets(TargetGroupArn=group, Targets=[
        {"Id": f"10.0.0.{index + 1}", "Port": port} for index, port in enumerate(ports)])
    return group, balancer["LoadBalancerArn"]
