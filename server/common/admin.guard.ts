import { Inject, Injectable, UnauthorizedException, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { COORDINATOR_CONFIG, type CoordinatorConfig } from '../config.js';
import { tokensMatch } from './token.js';

/** REST mutations need `Authorization: Bearer <admin token>`. */
@Injectable()
export class AdminGuard implements CanActivate {
  constructor(@Inject(COORDINATOR_CONFIG) private readonly config: CoordinatorConfig) {}

  canActivate(context: ExecutionContext): boolean {
    const req = context.switchToHttp().getRequest<{ headers: Record<string, string | string[] | undefined> }>();
    const header = req.headers['authorization'];
    const match = typeof header === 'string' ? /^Bearer\s+(.+)$/i.exec(header.trim()) : null;
    if (!match || !tokensMatch(match[1]!, this.config.adminToken)) {
      throw new UnauthorizedException(
        'this request changes state and needs the admin token: send the header "Authorization: Bearer <admin token>" (printed by `contsup coordinator` at start, or set with --admin-token)',
      );
    }
    return true;
  }
}
