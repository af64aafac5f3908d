import { Migration } from '@mikro-orm/migrations';

/** A deployment's URLs: where its container answers directly (the agent's), and where users reach it (the edge's). */
export class Migration20261207160000DeploymentPublicUrl extends Migration {
  override async up(): Promise<void> {
    this.addSql('alter table "deployments" rename column "access_url" to "direct_url"');
    this.addSql('alter table "deployments" add column "public_url" varchar(300) null');
  }
}
